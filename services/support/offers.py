"""Offers and consignments: the donors' side of a request.

- An ``Offer`` needs a DONOR desk and a request being sourced. Re-sending an offer id revises
  it (only its own donor, only while not committed); a revision whose ``valid_until`` has
  already passed withdraws it, and an open offer lapses when ``valid_until`` passes.
- ``WITHDRAW_OFFER`` (a ``RequestAction``) takes back an open offer, or some of its lines,
  by its own donor before commitment; the pledged totals drop and matching is re-derived.
- A ``Consignment`` comes from the donor of a committed offer and ships no more than was
  committed; its first shipment puts the request IN_DELIVERY.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import structs

from schemas.desks import Desk
from schemas.envelope import Envelope
from schemas.kinds.notifications import RejectionCode
from schemas.kinds.support import (
    Consignment,
    ConsignmentStatus,
    Offer,
    RequestKind,
    RequestState,
)
from schemas.kinds.support_actions import WithdrawOffer
from schemas.roles import Role
from services.support.matching import MATCHING_STATES
from services.support.state import (
    ConsignmentRecord,
    OfferLineRecord,
    OfferRecord,
    OfferState,
    RequestRecord,
)
from services.support.steps import Actor, Refused, step

_BAD_REF = RejectionCode.INVALID_REFERENCE
_STATUS_ORDER = (
    ConsignmentStatus.PREPARING,
    ConsignmentStatus.DISPATCHED,
    ConsignmentStatus.IN_TRANSIT,
    ConsignmentStatus.HANDED_OVER,
    ConsignmentStatus.RECEIVED,
)


def offer(  # noqa: PLR0911 - one return per rule, in the rules' order
    record: RequestRecord, envelope: Envelope, body: Offer, *, desk: Desk | None, now: datetime
) -> RequestRecord | Refused:
    actor = Actor(desk_id=envelope.originator, message_id=envelope.message_id)
    state = record.state
    if desk is None or Role.DONOR not in desk.roles:
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            current_state=state,
            detail=f"{envelope.originator} is not a donor desk; offer refused",
        )
    if record.status.request_kind is RequestKind.DEPOT_DRAW or state not in MATCHING_STATES:
        return Refused(
            code=RejectionCode.INVALID_TRANSITION,
            current_state=state,
            detail=f"request {record.request_id} is not being sourced ({state.value})",
        )
    known = {line.line_no for line in record.request.lines}
    unknown = sorted(line.line_no for line in body.lines if line.line_no not in known)
    if unknown:
        return Refused(
            code=_BAD_REF, current_state=state, detail=f"request has no line(s) {unknown}"
        )
    previous = record.offer(body.offer_id)
    if previous is not None and previous.donor != envelope.originator:
        return Refused(
            code=RejectionCode.DUPLICATE_ENTITY,
            current_state=state,
            detail=f"offer {body.offer_id} belongs to {previous.donor}",
        )
    if previous is not None and previous.state is not OfferState.OPEN:
        return Refused(
            code=RejectionCode.INVALID_TRANSITION,
            current_state=state,
            detail=f"offer {body.offer_id} is {previous.state.value}",
        )
    lapsed = body.valid_until is not None and body.valid_until <= now
    if lapsed and previous is None:
        return Refused(
            code=_BAD_REF,
            current_state=state,
            detail=f"offer {body.offer_id} expired at {body.valid_until}",
        )
    revised = OfferRecord(
        offer_id=body.offer_id,
        donor=envelope.originator,
        commitment=body.commitment,
        lines=tuple(
            OfferLineRecord(line_no=ln.line_no, offered=ln.quantity, available_by=ln.available_by)
            for ln in body.lines
        ),
        valid_until=body.valid_until,
        state=OfferState.WITHDRAWN if lapsed else OfferState.OPEN,
        revision=previous.revision + 1 if previous is not None else 1,
    )
    offers = tuple(revised if o.offer_id == body.offer_id else o for o in record.offers)
    if previous is None:
        offers = (*offers, revised)
    verb = "withdrawn" if lapsed else ("revised" if previous is not None else "made")
    return step(
        record,
        actor=actor,
        action="OFFER",
        to_state=state,
        now=now,
        offers=offers,
        note=f"offer {body.offer_id} {verb} by {envelope.originator} ({body.commitment.value})",
    )


def withdraw(
    record: RequestRecord, command: WithdrawOffer, *, actor: Actor, now: datetime, note: str
) -> RequestRecord | Refused:
    """The donor's own open offer without the lines named (all of them: WITHDRAWN)."""
    previous = record.offer(command.offer_id)
    if previous is None:
        return Refused(code=_BAD_REF, detail=f"no offer {command.offer_id} on this request")
    if previous.donor != actor.desk_id:
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            detail=f"offer {command.offer_id} belongs to {previous.donor}; "
            f"{actor.desk_id} may not withdraw it",
        )
    if previous.state is not OfferState.OPEN:
        return Refused(
            code=RejectionCode.INVALID_TRANSITION,
            detail=f"offer {command.offer_id} is {previous.state.value}; only an open offer "
            "is withdrawn",
        )
    named = set(command.line_nos) or {line.line_no for line in previous.lines}
    missing = sorted(named - {line.line_no for line in previous.lines})
    if missing:
        return Refused(code=_BAD_REF, detail=f"offer {command.offer_id} has no line(s) {missing}")
    kept = tuple(line for line in previous.lines if line.line_no not in named)
    revised = structs.replace(
        previous,
        lines=kept or previous.lines,
        state=OfferState.OPEN if kept else OfferState.WITHDRAWN,
        revision=previous.revision + 1,
    )
    what = f"line(s) {sorted(named)} of offer" if kept else "offer"
    return step(
        record,
        actor=actor,
        action="WITHDRAW_OFFER",
        to_state=record.state,
        now=now,
        offers=tuple(revised if o.offer_id == previous.offer_id else o for o in record.offers),
        note=f"{what} {command.offer_id} withdrawn by {actor.desk_id}"
        + (f": {note}" if note else ""),
    )


def consignment(
    record: RequestRecord, envelope: Envelope, body: Consignment, *, now: datetime
) -> RequestRecord | Refused:
    state = record.state
    offer_record = record.offer(body.offer_id)
    if offer_record is None or offer_record.state is not OfferState.COMMITTED:
        return Refused(
            code=_BAD_REF,
            current_state=state,
            detail=f"offer {body.offer_id} is unknown or not committed",
        )
    if offer_record.donor != envelope.originator:
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            current_state=state,
            detail=f"only {offer_record.donor} ships offer {body.offer_id}",
        )
    if state not in {RequestState.COMMITTED, RequestState.IN_DELIVERY}:
        return Refused(
            code=RejectionCode.INVALID_TRANSITION,
            current_state=state,
            detail=f"consignments follow commitment; request is {state.value}",
        )
    previous = record.consignment(body.consignment_id)
    problem = _check_shipment(record, body, previous)
    if problem is not None:
        return Refused(code=problem[0], current_state=state, detail=problem[1])
    updated = ConsignmentRecord(
        consignment_id=body.consignment_id,
        offer_id=body.offer_id,
        shipper=envelope.originator,
        status=body.status,
        lines=body.lines,
    )
    consignments = tuple(
        updated if c.consignment_id == body.consignment_id else c for c in record.consignments
    )
    if previous is None:
        consignments = (*consignments, updated)
    shipped = body.status is not ConsignmentStatus.PREPARING
    target = RequestState.IN_DELIVERY if shipped else state
    actor = Actor(desk_id=envelope.originator, message_id=envelope.message_id)
    return step(
        record,
        actor=actor,
        action="CONSIGNMENT",
        to_state=target,
        now=now,
        consignments=consignments,
        note=f"consignment {body.consignment_id} {body.status.value}",
    )


def _check_shipment(
    record: RequestRecord, body: Consignment, previous: ConsignmentRecord | None
) -> tuple[RejectionCode, str] | None:
    if previous is not None:
        if previous.confirmed or previous.offer_id != body.offer_id:
            return RejectionCode.INVALID_TRANSITION, (
                f"consignment {body.consignment_id} is confirmed or belongs to another offer"
            )
        if _rank(body.status) < _rank(previous.status):
            return RejectionCode.INVALID_TRANSITION, (
                f"consignment {body.consignment_id} cannot go from {previous.status.value} "
                f"back to {body.status.value}"
            )
    offer_record = record.offer(body.offer_id)
    committed = {ln.line_no: ln.committed for ln in offer_record.lines} if offer_record else {}
    others = [
        line
        for c in record.consignments
        if c.offer_id == body.offer_id and c.consignment_id != body.consignment_id
        for line in c.lines
    ]
    for line in body.lines:
        already = sum(o.quantity for o in others if o.line_no == line.line_no)
        if line.quantity + already > committed.get(line.line_no, 0):
            return _BAD_REF, (
                f"line {line.line_no}: {line.quantity + already} shipped against "
                f"{committed.get(line.line_no, 0)} committed on offer {body.offer_id}"
            )
    return None


def _rank(status: ConsignmentStatus) -> int:
    if status is ConsignmentStatus.LOST_OR_DAMAGED:
        return len(_STATUS_ORDER)
    return _STATUS_ORDER.index(status)


def lapse(record: RequestRecord, *, service_desk: str, now: datetime) -> RequestRecord | None:
    """Open offers past ``valid_until`` lapse; None when none did."""
    expired = [
        o.offer_id
        for o in record.offers
        if o.state is OfferState.OPEN and o.valid_until is not None and o.valid_until <= now
    ]
    if not expired:
        return None
    offers = tuple(
        structs.replace(o, state=OfferState.LAPSED) if o.offer_id in expired else o
        for o in record.offers
    )
    me = Actor(desk_id=service_desk, message_id=record.history[-1].message_id)
    return step(
        record,
        actor=me,
        action="LAPSE",
        to_state=record.state,
        now=now,
        offers=offers,
        note=f"offer(s) lapsed: {', '.join(expired)}",
    )
