"""Desks: the authenticated participants, and the registry the cell routes by."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

import msgspec
from msgspec import Meta, Struct

from schemas.addresses import AddressKind, parse_address
from schemas.common import DeskId, Nation, Sha256Hex, TrafficType
from schemas.labels import Category, Clearance
from schemas.roles import Role

if TYPE_CHECKING:
    from pathlib import Path

# The two nations whose desks are parties rather than coalition contributors (DOMAIN §2).
NON_COALITION_NATIONS = frozenset({"USA", "UKR"})


class Desk(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One desk. Tokens are stored as SHA-256 hex digests, never in clear."""

    id: DeskId
    nation: Nation
    clearance: Clearance
    roles: frozenset[Role] = frozenset()
    categories: frozenset[Category] = frozenset()  # restrictive categories held
    # exercise_only: a training desk; receives (and may send) EXERCISE/DRILL traffic only.
    exercise_only: bool = False
    # exercise_enabled: takes part in exercises besides real traffic (DOMAIN §4 rule 2).
    exercise_enabled: bool = False
    name: Annotated[str, Meta(max_length=120)] = ""
    token_sha256: Annotated[tuple[Sha256Hex, ...], Meta(max_length=8)] = ()
    cert_subject: Annotated[str, Meta(min_length=1, max_length=500)] | None = None

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def accepts(self, traffic_type: TrafficType) -> bool:
        """Whether this desk may receive traffic of that type."""
        if traffic_type is TrafficType.OPERATION:
            return not self.exercise_only
        return self.exercise_only or self.exercise_enabled


class DeskRegistry(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, dict=True):
    """All desks of the cell; ``dict=True`` lets lookups be cached on the frozen instance."""

    desks: tuple[Desk, ...]
    description: Annotated[str, Meta(max_length=500)] = ""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for desk in self.desks:
            if desk.id in seen:
                raise ValueError(f"`desks` has desk id {desk.id!r} more than once")
            seen.add(desk.id)

    @functools.cached_property
    def _by_id(self) -> dict[str, Desk]:
        return {desk.id: desk for desk in self.desks}

    @functools.cached_property
    def _by_token(self) -> dict[str, Desk]:
        return {digest: desk for desk in self.desks for digest in desk.token_sha256}

    def __contains__(self, desk_id: object) -> bool:
        return desk_id in self._by_id

    def __len__(self) -> int:
        return len(self.desks)

    def get(self, desk_id: str) -> Desk | None:
        return self._by_id.get(desk_id)

    def by_token_sha256(self, digest: str) -> Desk | None:
        return self._by_token.get(digest)

    def by_cert_subject(self, subject: str) -> Desk | None:
        return next((desk for desk in self.desks if desk.cert_subject == subject), None)

    def by_nation(self, nation: str) -> tuple[Desk, ...]:
        return tuple(desk for desk in self.desks if desk.nation == nation)

    def with_role(self, role: Role) -> tuple[Desk, ...]:
        return tuple(desk for desk in self.desks if role in desk.roles)

    def nations(self) -> tuple[str, ...]:
        return tuple(sorted({desk.nation for desk in self.desks}))

    def expand(self, address: str) -> tuple[Desk, ...]:
        """Desks an address reaches, in registry order; () for an unknown desk or nation.

        Raises ``ValueError`` for a string that is not an address at all.
        """
        parsed = parse_address(address)
        match parsed.kind:
            case AddressKind.DESK:
                desk = self.get(address)
                return (desk,) if desk is not None else ()
            case AddressKind.ALL:
                return self.desks
            case AddressKind.COALITION:
                return tuple(d for d in self.desks if d.nation not in NON_COALITION_NATIONS)
            case AddressKind.COMMISSION:
                return self.with_role(Role.COMMISSION)
            case AddressKind.NATION:
                return self.by_nation(str(parsed.value))
            case AddressKind.ROLE:
                return self.with_role(Role(str(parsed.value)))


class RegistryError(ValueError):
    """The desk registry file is unreadable or invalid; the message names the path."""


_REGISTRY_DECODER = msgspec.json.Decoder(DeskRegistry)


def load_registry(path: Path) -> DeskRegistry:
    """Load a JSON desk registry; unknown fields are refused (typos must not pass silently)."""
    try:
        return _REGISTRY_DECODER.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc


def parse_registry(data: bytes) -> DeskRegistry:
    return _REGISTRY_DECODER.decode(data)
