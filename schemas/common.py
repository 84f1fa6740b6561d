"""Shared field types and small value structs used by the envelope and every kind.

Constraints live in the type (``Annotated[..., Meta(...)]``) so that they are enforced at
decode, appear in the exported JSON Schema, and name the field path when violated.
Cross-field rules live in ``__post_init__`` beside their struct; they raise ``ValueError``
whose message starts with the offending field in backticks (see ``invalid``), which
``schemas.codec.DecodeError`` folds into the path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

# --- scalar field types -------------------------------------------------------------------


def whole(regex: str) -> str:
    """Anchor ``regex`` to the whole string, identically in Python and ECMA-262.

    msgspec matches patterns with Python's ``re.search``, where ``$`` also matches before a
    trailing newline (``^[A-Z]{3}$`` accepts ``"UKR\\n"``). The lookahead refuses that and is
    a no-op for JSON Schema validators, where ``$`` is the end of input.
    """
    return f"^{regex}$(?!\\n)"


# Timezone-aware on the wire; structs normalise to UTC in __post_init__ (see ``require_utc``).
UtcDatetime = Annotated[
    datetime,
    Meta(tz=True, description="RFC 3339 timestamp with a zone; normalised to UTC."),
]
DESK_ID_BODY = r"[a-z0-9][a-z0-9._-]{1,62}"
DESK_ID_PATTERN = whole(DESK_ID_BODY)
DeskId = Annotated[
    str, Meta(pattern=DESK_ID_PATTERN, description="Desk identifier, e.g. `ukr.mod`.")
]
NATION_PATTERN = whole("[A-Z]{3}")
Nation = Annotated[str, Meta(pattern=NATION_PATTERN, description="ISO 3166-1 alpha-3 code.")]
# A nation in a list whose struct checks every item's letters at once (``require_nations``):
# msgspec checks the length in C and the struct does one pass over the joined list instead
# of one ``re`` call per item (a label releasable to nine nations made nine). The JSON Schema
# carries the same pattern (the redundant lengths do not change what it accepts).
ListedNation = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=3,
        description="ISO 3166-1 alpha-3 code.",
        extra_json_schema={"pattern": NATION_PATTERN},
    ),
]
_NATION_RE = re.compile(NATION_PATTERN)
# Case, request, order, incident ids: minted by the owning desk or service, stable for life.
EntityId = Annotated[
    str,
    Meta(
        pattern=whole(r"[A-Za-z0-9][A-Za-z0-9._:/-]{2,63}"),
        description="Identifier of a case, request, order, incident, offer or consignment.",
    ),
]
LocalId = Annotated[
    str,
    Meta(
        pattern=whole(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}"),
        description="Identifier unique within the enclosing message (observation, task).",
    ),
]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Name = Annotated[str, Meta(min_length=1, max_length=120)]
Text = Annotated[str, Meta(max_length=8000)]
ShortText = Annotated[str, Meta(max_length=1000)]
Sha256Hex = Annotated[str, Meta(pattern=whole(r"[0-9a-f]{64}"))]
Latitude = Annotated[float, Meta(ge=-90.0, le=90.0, description="WGS84 degrees.")]
Longitude = Annotated[float, Meta(ge=-180.0, le=180.0, description="WGS84 degrees.")]
Metres = Annotated[float, Meta(ge=0.0, le=20_000_000.0)]
# MGRS at 1 km .. 1 m precision (an even number of 2..10 digits).
Mgrs = Annotated[
    str,
    Meta(
        pattern=whole(r"[0-9]{1,2}[C-HJ-NP-X][A-HJ-NP-Z]{2}([0-9]{4}|[0-9]{6}|[0-9]{8}|[0-9]{10})"),
        description="Military Grid Reference System, upper case, no spaces.",
    ),
]
# IANA zone name as the observer reported it (e.g. Europe/Kyiv); kept for the record only.
TzName = Annotated[str, Meta(pattern=whole(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}"))]


def invalid(field: str, message: str) -> ValueError:
    """A cross-field error; the leading backticked field name extends the decode path."""
    return ValueError(f"`{field}` {message}")


def require_utc(obj: Struct, *fields: str) -> None:
    """Reject naive datetimes and normalise aware ones to UTC, in place.

    msgspec already refuses zone-less timestamps at decode (``Meta(tz=True)``); this also
    guards structs built in Python, and makes every stored timestamp UTC (DOMAIN §3).
    A value whose tzinfo is already ``UTC`` (what msgspec decodes ``Z`` and ``+00:00`` to)
    is left alone without calling ``utcoffset()``: the common case costs one identity test.
    """
    for name in fields:
        value = getattr(obj, name)
        if value is None or value.tzinfo is UTC:
            continue
        offset = value.utcoffset()
        if offset is None:
            raise invalid(name, "must carry a time zone")
        msgspec.structs.force_setattr(obj, name, value.astimezone(UTC))


def require_unique(field: str, values: list[str] | tuple[str, ...]) -> None:
    # Fast path in C; the loop only runs to name the repeated value.
    if len(values) < 2 or len(set(values)) == len(values):  # noqa: PLR2004 - a pair to repeat
        return
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise invalid(field, f"contains {value!r} more than once")
        seen.add(value)


def require_nations(field: str, nations: tuple[str, ...]) -> None:
    """``NATION_PATTERN`` for every item of a ``ListedNation`` list, ``field[index]`` on error.

    Three-character items (msgspec's length check) that join into ASCII upper-case letters
    are exactly the strings the pattern accepts; otherwise the pattern finds the culprit.
    """
    joined = "".join(nations)
    if joined.isascii() and joined.isalpha() and joined.isupper():
        return
    for index, nation in enumerate(nations):
        if _NATION_RE.search(nation) is None:
            raise invalid(f"{field}[{index}]", f"is not a `str` matching regex {NATION_PATTERN!r}")


class KnownMatches:
    """Strings already found to match ``pattern``, for fields whose struct checks it.

    Envelope originators and recipients repeat from message to message (a few hundred desks
    and groups); a set lookup replaces msgspec's ``re`` call per item. Only matching values
    are remembered, and at most ``limit`` of them: past that, new values are checked each
    time, never trusted. The field keeps the pattern in its JSON Schema (``schema_pattern``).
    """

    __slots__ = ("known", "limit", "pattern", "regex")

    def __init__(self, pattern: str, limit: int = 4096) -> None:
        self.pattern = pattern
        self.regex = re.compile(pattern)
        self.limit = limit
        self.known: set[str] = set()

    def check(self, field: str, value: str) -> None:
        """``value`` matches, or ``ValueError`` naming ``field``."""
        if value in self.known:
            return
        if self.regex.search(value) is None:
            raise invalid(field, f"is not a `str` matching regex {self.pattern!r}")
        if len(self.known) < self.limit:
            self.known.add(value)

    def check_items(self, field: str, values: tuple[str, ...]) -> None:
        """Every item matches, or ``ValueError`` naming ``field[index]``."""
        if self.known.issuperset(values):
            return
        for index, value in enumerate(values):
            self.check(f"{field}[{index}]", value)


class KnownValid:
    """Immutable values (tuples of strings and enums) every rule of their struct accepted.

    A label's marking (policy, classification, nations, categories) and an envelope's
    addressees repeat from message to message; one set lookup replaces their rules. Only
    values that passed are remembered, at most ``limit``: past that, each is checked each
    time, never trusted. The key must hold everything the skipped rules read.
    """

    __slots__ = ("limit", "values")

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.values: set[object] = set()

    def remember(self, value: object) -> None:
        if len(self.values) < self.limit:
            self.values.add(value)


def schema_pattern(pattern: str, description: str) -> Meta:
    """A string constraint msgspec does not run (the struct does, see ``KnownMatches``) but
    the exported JSON Schema carries, so other languages validate the same pattern."""
    return Meta(description=description, extra_json_schema={"pattern": pattern})


class TrafficType(StrEnum):
    """Real traffic, or practice: exercise and drill traffic reach exercise-enabled desks only."""

    OPERATION = "OPERATION"
    EXERCISE = "EXERCISE"
    DRILL = "DRILL"


# --- value structs ------------------------------------------------------------------------


class Position(Struct, frozen=True, kw_only=True):
    """A WGS84 point, optionally with its MGRS rendering and an accuracy circle."""

    lat: Latitude
    lon: Longitude
    mgrs: Mgrs | None = None
    precision_m: Annotated[float, Meta(ge=0.0, le=100_000.0)] | None = None


class TimeWindow(Struct, frozen=True, kw_only=True):
    """A closed UTC interval; ``original_tz`` records the zone the reporter used."""

    start: UtcDatetime
    end: UtcDatetime
    original_tz: TzName | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is not UTC or self.end.tzinfo is not UTC:
            require_utc(self, "start", "end")
        if self.end < self.start:
            raise invalid("end", "must not be before `start`")


class Area(Struct, frozen=True, kw_only=True):
    """A named area: a circle (centre + radius) and/or a polygon (≥ 3 vertices)."""

    name: Name
    centre: Position | None = None
    radius_m: Annotated[float, Meta(gt=0.0, le=1_000_000.0)] | None = None
    polygon: Annotated[tuple[Position, ...], Meta(max_length=200)] = ()

    def __post_init__(self) -> None:
        if (self.radius_m is None) != (self.centre is None):
            raise invalid("radius_m", "and `centre` must be given together")
        if 0 < len(self.polygon) < 3:  # noqa: PLR2004 - a polygon needs three vertices
            raise invalid("polygon", "needs at least 3 vertices")


class EvidenceKind(StrEnum):
    PHOTO = "PHOTO"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    RADAR_TRACK = "RADAR_TRACK"
    SATELLITE_IMAGE = "SATELLITE_IMAGE"
    DOCUMENT = "DOCUMENT"
    WITNESS_STATEMENT = "WITNESS_STATEMENT"
    FORENSIC = "FORENSIC"


class EvidenceRef(Struct, frozen=True, kw_only=True):
    """A pointer to evidence held outside the message (the cell never inlines media)."""

    kind: EvidenceKind
    uri: Annotated[str, Meta(min_length=1, max_length=500)]
    sha256: Sha256Hex | None = None
    description: ShortText = ""


class AttachmentRef(Struct, frozen=True, kw_only=True):
    """A document attached by reference; the hash lets the reader verify what it fetched."""

    uri: Annotated[str, Meta(min_length=1, max_length=500)]
    media_type: Annotated[str, Meta(pattern=whole(r"[a-z]+/[A-Za-z0-9.+-]{1,100}"))]
    size_bytes: Annotated[int, Meta(ge=0, le=10_000_000_000)]
    sha256: Sha256Hex
    title: Annotated[str, Meta(max_length=200)] = ""
