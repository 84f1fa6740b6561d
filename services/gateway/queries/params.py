"""Query-string parameters of the query routes, validated. Pure functions.

Absent means no filter (or the default); every refusal is a 400 ``invalid_parameter``
problem whose ``errors[0].path`` is the parameter's name. The OpenAPI schemas below state
the same rules, so generated clients and fuzzers know them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import msgspec
from multidict import MultiMapping

from services.gateway.problems import FieldError, Problem
from services.gateway.queries.index import BBox

E = TypeVar("E", bound=StrEnum)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_NATION = re.compile(r"[A-Z]{3}")
_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
_BBOX = re.compile(rf"{_NUMBER}(,{_NUMBER}){{3}}")


def invalid(name: str, message: str) -> Problem:
    return Problem(
        400,
        "invalid_parameter",
        f"query parameter `{name}` {message}",
        errors=(FieldError(path=name, message=message),),
    )


def _raw(query: MultiMapping[str], name: str) -> str | None:
    """The parameter's one value, None when absent; empty or repeated is refused (the
    document says one value of its schema, and a fuzzer checks that we mean it)."""
    values = query.getall(name, [])
    if not values:
        return None
    if len(values) > 1:
        raise invalid(name, "is given more than once")
    if values[0] == "":
        raise invalid(name, "is empty; leave it out instead")
    return values[0]


def limit(query: MultiMapping[str]) -> int:
    raw = _raw(query, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def timestamp(query: MultiMapping[str], name: str) -> datetime | None:
    """An RFC 3339 date-time with its offset (a local time without a zone is refused)."""
    raw = _raw(query, name)
    if raw is None:
        return None
    try:
        value = msgspec.convert(raw, datetime)
    except msgspec.ValidationError:
        raise invalid(name, "must be an RFC 3339 date-time, e.g. 2026-03-14T13:12:00Z") from None
    if value.tzinfo is None:
        raise invalid(name, "must carry a UTC offset (`Z` or `+01:00`)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 has no UTC equivalent
        raise invalid(name, "is out of range") from None


def time_range(query: MultiMapping[str]) -> tuple[datetime | None, datetime | None]:
    since, until = timestamp(query, "since"), timestamp(query, "until")
    if since is not None and until is not None and until < since:
        raise invalid("until", "must not be before `since`")
    return since, until


def bbox(query: MultiMapping[str]) -> BBox | None:
    raw = _raw(query, "bbox")
    if raw is None:
        return None
    if not _BBOX.fullmatch(raw):
        raise invalid("bbox", "must be four decimal numbers: minLon,minLat,maxLon,maxLat")
    min_lon, min_lat, max_lon, max_lat = (float(part) for part in raw.split(","))
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):  # noqa: PLR2004 - degrees
        raise invalid("bbox", "longitudes must be within -180..180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):  # noqa: PLR2004 - degrees
        raise invalid("bbox", "latitudes must be within -90..90")
    if min_lat > max_lat:
        raise invalid("bbox", "minLat must not exceed maxLat")
    return BBox(min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat)


def choice(query: MultiMapping[str], name: str, kind: type[E]) -> E | None:
    raw = _raw(query, name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise invalid(name, "must be one of " + ", ".join(m.value for m in kind)) from None


def boolean(query: MultiMapping[str], name: str, *, default: bool) -> bool:
    raw = _raw(query, name)
    if raw is None:
        return default
    if raw not in {"true", "false"}:
        raise invalid(name, "must be `true` or `false`")
    return raw == "true"


def nation(query: MultiMapping[str]) -> str | None:
    raw = _raw(query, "nation")
    if raw is not None and not _NATION.fullmatch(raw):
        raise invalid("nation", "must be an ISO 3166-1 alpha-3 code, e.g. FRA")
    return raw


# OpenAPI schemas of the parameters above (what the document promises the parser accepts).
LIMIT_SCHEMA: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_LIMIT,
    "default": DEFAULT_LIMIT,
}
DATETIME_SCHEMA: dict[str, Any] = {"type": "string", "format": "date-time"}
BBOX_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": f"^{_BBOX.pattern}$",
}
NATION_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[A-Z]{3}$"}
BOOLEAN_SCHEMA: dict[str, Any] = {"type": "boolean", "default": True}


def enum_schema(kind: type[StrEnum]) -> dict[str, Any]:
    return {"type": "string", "enum": [m.value for m in kind]}
