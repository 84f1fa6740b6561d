"""Line arithmetic: requested, pledged, committed and delivered quantities per request line.

Pledged counts every live offer, so an over-offer shows as pledged above requested; the cell
commits at most what was requested per line, taking the offers in the order it names them
(the later offer's line is committed only in part, the excess is left uncommitted). Matching
is derived, never commanded: MATCHED when every line is pledged in full, PARTIALLY_MATCHED
when something is pledged, SOURCING otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

from msgspec import structs

from schemas.kinds.support import LineProgress, RequestState
from services.support.state import (
    LIVE_OFFERS,
    ConsignmentRecord,
    OfferRecord,
    OfferState,
    RequestRecord,
)

MATCHING_STATES = frozenset(
    {RequestState.SOURCING, RequestState.PARTIALLY_MATCHED, RequestState.MATCHED}
)


def _sum(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for line_no, quantity in pairs:
        totals[line_no] = totals.get(line_no, 0) + quantity
    return totals


def progress(
    record: RequestRecord,
    offers: tuple[OfferRecord, ...],
    consignments: tuple[ConsignmentRecord, ...],
) -> tuple[LineProgress, ...]:
    live = [o for o in offers if o.state in LIVE_OFFERS]
    pledged = _sum((line.line_no, line.offered) for o in live for line in o.lines)
    committed = _sum((line.line_no, line.committed) for o in live for line in o.lines)
    drawn = _sum(
        (line.line_no, line.quantity)
        for c in consignments
        if c.offer_id is None
        for line in c.lines
    )
    delivered = _sum((line.line_no, line.quantity) for c in consignments for line in c.received)
    return tuple(
        LineProgress(
            line_no=line.line_no,
            requested=line.quantity,
            pledged=pledged.get(line.line_no, 0),
            committed=committed.get(line.line_no, 0) + drawn.get(line.line_no, 0),
            delivered=delivered.get(line.line_no, 0),
        )
        for line in record.request.lines
    )


def match_state(lines: tuple[LineProgress, ...]) -> RequestState:
    if all(line.pledged >= line.requested for line in lines):
        return RequestState.MATCHED
    if any(line.pledged > 0 for line in lines):
        return RequestState.PARTIALLY_MATCHED
    return RequestState.SOURCING


def over_offered(lines: tuple[LineProgress, ...]) -> list[str]:
    return [
        f"line {line.line_no} pledged {line.pledged} of {line.requested}"
        for line in lines
        if line.pledged > line.requested
    ]


def commit(
    offers: tuple[OfferRecord, ...], offer_ids: tuple[str, ...], requested: dict[int, int]
) -> tuple[OfferRecord, ...]:
    """Offers after committing ``offer_ids`` in order, capped at ``requested`` per line.

    Named offers become COMMITTED (with the quantity taken per line); open offers not named
    become NOT_TAKEN, so their donors learn they are released.
    """
    remaining = dict(requested)
    by_id = {o.offer_id: o for o in offers}
    taken: dict[str, OfferRecord] = {}
    for offer_id in offer_ids:
        offer = by_id[offer_id]
        lines = []
        for line in offer.lines:
            quantity = min(line.offered, remaining.get(line.line_no, 0))
            remaining[line.line_no] = remaining.get(line.line_no, 0) - quantity
            lines.append(structs.replace(line, committed=quantity))
        taken[offer_id] = structs.replace(offer, lines=tuple(lines), state=OfferState.COMMITTED)
    return tuple(
        taken.get(o.offer_id)
        or (structs.replace(o, state=OfferState.NOT_TAKEN) if o.state is OfferState.OPEN else o)
        for o in offers
    )


def delivered_in_full(lines: tuple[LineProgress, ...]) -> bool:
    """Every committed (or drawn) quantity received, and something was committed."""
    return any(line.committed for line in lines) and all(
        line.delivered >= line.committed for line in lines
    )
