"""Addressee expansion: desk ids and groups to recipients, each with its role and precedence.

Rules (DOMAIN §2, §3):
- Action addressees get ``primary_precedence``, info addressees ``copy_precedence``; a desk
  reached both as action and info addressee (directly or through groups) is an action
  addressee, once.
- Groups never reach the originator: ``ALL`` from a desk does not echo its own message back.
  A desk that addresses itself by id gets its copy (it asked for it).
- An address that reaches no desk at all (unknown desk id, a nation or role without desks)
  yields an unresolved addressee: the originator gets a non-delivery report naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

from schemas.addresses import parse_address
from schemas.kinds.notifications import AddresseeRole

if TYPE_CHECKING:
    from schemas.desks import Desk, DeskRegistry
    from schemas.envelope import Envelope
    from schemas.precedence import Precedence


class Recipient(Struct, frozen=True, kw_only=True):
    desk: Desk
    role: AddresseeRole
    precedence: Precedence  # as delivered

    @property
    def desk_id(self) -> str:
        return self.desk.id


class Expansion(Struct, frozen=True, kw_only=True):
    recipients: tuple[Recipient, ...]  # in registry order, each desk once
    unresolved: tuple[str, ...]  # addresses that reached no desk, as written


def expand(envelope: Envelope, registry: DeskRegistry) -> Expansion:
    """Recipients of ``envelope``; pure, deterministic (registry order)."""
    roles: dict[str, AddresseeRole] = {}
    unresolved: list[str] = []
    for role, addresses in (
        (AddresseeRole.ACTION, envelope.action_to),
        (AddresseeRole.INFO, envelope.info_to),
    ):
        for address in addresses:
            desks = registry.expand(address)
            if not desks:
                unresolved.append(address)
                continue
            explicit = not parse_address(address).is_group
            for desk in desks:
                if desk.id == envelope.originator and not explicit:
                    continue
                if roles.get(desk.id) is not AddresseeRole.ACTION:
                    roles[desk.id] = role
    recipients = tuple(
        Recipient(desk=desk, role=roles[desk.id], precedence=_precedence(envelope, roles[desk.id]))
        for desk in registry.desks
        if desk.id in roles
    )
    return Expansion(recipients=recipients, unresolved=tuple(unresolved))


def _precedence(envelope: Envelope, role: AddresseeRole) -> Precedence:
    if role is AddresseeRole.ACTION:
        return envelope.primary_precedence
    return envelope.copy_precedence
