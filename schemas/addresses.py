"""Addressing: a desk id or a group the cell expands (DOMAIN §2).

On the wire an address is a plain string so that non-Python consumers need no extra type;
``ADDRESS_PATTERN`` validates it at decode and ``parse_address`` gives its structure.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Annotated

from msgspec import Meta, Struct

from schemas.common import DESK_ID_BODY, KnownMatches, schema_pattern, whole
from schemas.roles import Role


class AddressKind(StrEnum):
    DESK = "DESK"
    ALL = "ALL"
    COALITION = "COALITION"  # every desk whose nation is neither USA nor UKR
    COMMISSION = "COMMISSION"  # every desk with role COMMISSION
    NATION = "NATION"  # NATION:<ISO3>
    ROLE = "ROLE"  # ROLE:<role>


_ROLES = "|".join(role.value for role in Role)
ADDRESS_PATTERN = whole(
    rf"(ALL|COALITION|COMMISSION|NATION:[A-Z]{{3}}|ROLE:({_ROLES})|{DESK_ID_BODY})"
)
_ADDRESS_RE = re.compile(ADDRESS_PATTERN)
_DESCRIPTION = "A desk id, or ALL, COALITION, COMMISSION, NATION:<ISO3>, ROLE:<role>."

# Envelope recipients: checked by the envelope against ``RECIPIENTS`` (once per distinct
# address, not one ``re`` call per item per message); the JSON Schema keeps the pattern.
RECIPIENTS = KnownMatches(ADDRESS_PATTERN)
RecipientStr = Annotated[str, schema_pattern(ADDRESS_PATTERN, _DESCRIPTION)]

AddressStr = Annotated[
    str,
    Meta(
        pattern=ADDRESS_PATTERN,
        description=_DESCRIPTION,
    ),
]


class Address(Struct, frozen=True):
    kind: AddressKind
    value: str | None = None  # desk id, ISO3 nation or role name; None for plain groups

    def __str__(self) -> str:
        if self.kind is AddressKind.DESK:
            return str(self.value)
        if self.value is None:
            return self.kind.value
        return f"{self.kind.value}:{self.value}"

    @property
    def is_group(self) -> bool:
        return self.kind is not AddressKind.DESK


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> Address:
    """Structure an address string; ``ValueError`` when it is not one.

    Cached: the router parses every addressee of every message, from a small vocabulary
    (desk ids, groups); ``Address`` is immutable.
    """
    if not _ADDRESS_RE.fullmatch(text):
        raise ValueError(f"not an address: {text!r}")
    if text in {"ALL", "COALITION", "COMMISSION"}:
        return Address(AddressKind(text))
    prefix, sep, rest = text.partition(":")
    if sep:
        return Address(AddressKind(prefix), rest)
    return Address(AddressKind.DESK, text)
