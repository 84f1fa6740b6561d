"""Admission control: a bound on the publishes one gateway has in flight, FLASH first.

Without it, every request past the sustainable rate waits its turn for the acks=all
acknowledgement and times out at the publish deadline: CPU spent, nothing delivered, and the
client learns it seconds late. With it, a submission that would exceed the bound is refused
at once (503 ``overloaded`` with Retry-After) before any Kafka wait, and the work admitted is
work the gateway can finish.

Precedence awareness (DOMAIN §3, FLASH before ROUTINE at every hop): each precedence may
fill the bound only up to its own ceiling. ROUTINE and PRIORITY stop short of the reserved
share; IMMEDIATE may use half of it; FLASH may use all of it. A ROUTINE flood therefore
never sheds FLASH or IMMEDIATE, and an IMMEDIATE flood never sheds FLASH. A batch counts
each of its items; its items are admitted highest precedence first.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from aiohttp import web
from msgspec import Struct

from schemas.desks import Desk
from schemas.precedence import Precedence
from schemas.roles import Role
from services.gateway import keys
from services.gateway.metrics import GatewayMetrics
from services.gateway.problems import Problem

__all__ = ["Admission", "claimed", "claimed_in", "overloaded"]


class _Claim(Struct, frozen=True):
    """The one field admission needs; every other field is skipped, not validated."""

    primary_precedence: Precedence = Precedence.ROUTINE


_CLAIM = msgspec.json.Decoder(_Claim)


class Admission:
    """In-flight publish slots with per-precedence ceilings; one per gateway process.

    Single-threaded (the event loop): ``admit`` and ``release`` are plain counter updates.
    """

    __slots__ = ("_ceilings", "_floor", "_shed", "in_flight", "limit")

    def __init__(self, limit: int, reserved: int, metrics: GatewayMetrics) -> None:
        if not 0 <= reserved < limit:
            raise ValueError("the reserved share must be smaller than the limit")
        self.limit = limit
        self.in_flight = 0
        self._ceilings = {
            Precedence.FLASH: limit,
            Precedence.IMMEDIATE: limit - reserved // 2,
            Precedence.PRIORITY: limit - reserved,
            Precedence.ROUTINE: limit - reserved,
        }
        self._floor = limit - reserved  # below it, every precedence is admitted
        self._shed = {p: metrics.shed.labels(p.value) for p in Precedence}
        metrics.in_flight.set_function(lambda: self.in_flight)  # read at scrape time only

    @property
    def pressed(self) -> bool:
        """At or past the lowest ceiling: the next admission depends on precedence."""
        return self.in_flight >= self._floor

    def ceiling(self, precedence: Precedence) -> int:
        return self._ceilings[precedence]

    def admit(self, precedence: Precedence, count: int = 1) -> bool:
        """Take ``count`` slots for ``precedence``, or none (counted as shed)."""
        if self.in_flight + count <= self._ceilings[precedence]:
            self.in_flight += count
            return True
        self._shed[precedence].inc(count)
        return False

    def admit_each(self, precedences: Iterable[Precedence]) -> list[bool]:
        """One slot per item, highest precedence first; the answers in the items' order."""
        items = list(precedences)
        admitted = [False] * len(items)
        for index in sorted(range(len(items)), key=lambda i: -items[i].rank):
            admitted[index] = self.admit(items[index])
        return admitted

    def release(self, count: int = 1) -> None:
        self.in_flight -= count


def claimed(desk: Desk, value: object) -> Precedence:
    """The precedence a submission claims, for admission only: the full decode and
    ``_authorise`` decide whether it is valid. What cannot be read counts as ROUTINE."""
    try:
        precedence = Precedence(value) if isinstance(value, str) else Precedence.ROUTINE
    except ValueError:
        return Precedence.ROUTINE
    if precedence is Precedence.FLASH and not desk.has_role(Role.FLASH):
        return Precedence.ROUTINE
    return precedence


def claimed_in(desk: Desk, body: bytes) -> Precedence:
    try:
        return claimed(desk, _CLAIM.decode(body).primary_precedence)
    except msgspec.DecodeError:
        return Precedence.ROUTINE


def overloaded(request: web.Request, precedence: Precedence) -> Problem:
    return Problem(
        503,
        "overloaded",
        f"the gateway has as many submissions in flight as it takes for {precedence.value} "
        "traffic; retry later",
        retry_after_s=request.app[keys.SETTINGS].overload_retry_after_s,
    )
