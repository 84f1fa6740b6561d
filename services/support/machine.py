"""Request commands (``RequestAction``): who may give them, in which state, with what effect.

The transition table is ``schemas.kinds.support_actions.REQUEST_TRANSITIONS``; this module
adds what the table cannot say. Authority (DOMAIN §7 "the cell validates"): the cell's steps
(acknowledge, validate, reject, return for clarification, start sourcing, commit offers,
authorise and record a depot draw) are WATCH decisions, since the watch officer is the cell's
staff on duty; the requester's own steps (clarify, confirm delivery) need a REQUESTER desk of
the requesting nation; a withdrawal needs the DONOR desk that made the offer (checked against
the offer in ``offers.withdraw``); cancel, supersede and close may come from either side.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from schemas.desks import Desk
from schemas.kinds.notifications import RejectionCode
from schemas.kinds.support import (
    TERMINAL_REQUEST_STATES,
    ConsignmentStatus,
    RequestKind,
    RequestState,
)
from schemas.kinds.support_actions import (
    REQUEST_TRANSITIONS,
    AuthoriseDraw,
    Clarify,
    CommitOffers,
    ConfirmDelivery,
    RecordDraw,
    RequestAction,
    StartSourcing,
    Supersede,
    WithdrawOffer,
)
from schemas.roles import Role
from services.runtime import ids
from services.support import offers
from services.support.matching import commit, delivered_in_full, progress
from services.support.state import ConsignmentRecord, OfferState, RequestRecord
from services.support.steps import Actor, Refused, step

_CELL = frozenset(
    {"ACKNOWLEDGE", "VALIDATE", "REJECT", "RETURN", "START_SOURCING", "COMMIT"}
    | {"AUTHORISE_DRAW", "RECORD_DRAW"}
)
_REQUESTER = frozenset({"CLARIFY", "CONFIRM_DELIVERY"})
_DONOR = frozenset({"WITHDRAW_OFFER"})
_SOURCED_ONLY = frozenset({"START_SOURCING", "COMMIT"})
_DRAW_ONLY = frozenset({"AUTHORISE_DRAW", "RECORD_DRAW"})
_BAD_REF = RejectionCode.INVALID_REFERENCE
Lookup = Callable[[str], RequestRecord | None]


def tag(action: RequestAction) -> str:
    return type(action.command).__struct_config__.tag  # type: ignore[return-value]


def draw_consignment_id(request_id: str) -> str:
    return "draw-" + ids.message_id("depot-draw", request_id).hex[:20]


def authorised(name: str, desk: Desk | None, record: RequestRecord) -> bool:
    if desk is None:
        return False
    cell = Role.WATCH in desk.roles
    requester = Role.REQUESTER in desk.roles and desk.nation == record.requester_nation
    if name in _CELL:
        return cell
    if name in _REQUESTER:
        return requester
    if name in _DONOR:
        return Role.DONOR in desk.roles
    return cell or requester


def decide(
    record: RequestRecord,
    action: RequestAction,
    *,
    actor: Actor,
    desk: Desk | None,
    now: datetime,
    lookup: Lookup,
) -> RequestRecord | Refused:
    name, state = tag(action), record.state
    if not authorised(name, desk, record):
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            detail=f"{actor.desk_id} may not {name} request {record.request_id}",
            current_state=state,
        )
    if action.expected_version is not None and action.expected_version != record.status.version:
        return Refused(
            code=RejectionCode.VERSION_CONFLICT,
            detail=f"acted on version {action.expected_version}, "
            f"request is at {record.status.version}",
            current_state=state,
        )
    allowed, target = REQUEST_TRANSITIONS[name]
    draw = record.status.request_kind is RequestKind.DEPOT_DRAW
    problem = None
    if state not in allowed:
        problem = f"{name} is not allowed in state {state.value}"
    elif draw and name in _SOURCED_ONLY:
        problem = f"a depot draw is not sourced; {name} refused"
    elif not draw and name in _DRAW_ONLY:
        problem = f"{name} applies to DEPOT_DRAW requests only"
    if problem is not None:
        return Refused(code=RejectionCode.INVALID_TRANSITION, detail=problem, current_state=state)
    result = _apply(record, action, actor=actor, target=target, now=now, lookup=lookup)
    if isinstance(result, Refused):
        return Refused(code=result.code, detail=result.detail, current_state=state)
    return result


def _apply(  # noqa: PLR0911 - one return per command with its own effect
    record: RequestRecord,
    action: RequestAction,
    *,
    actor: Actor,
    target: RequestState,
    now: datetime,
    lookup: Lookup,
) -> RequestRecord | Refused:
    command, name = action.command, tag(action)
    note = action.rationale or _statement(action)
    if isinstance(command, StartSourcing):
        return step(
            record,
            actor=actor,
            action=name,
            to_state=target,
            now=now,
            note=note,
            solicited=command.solicit,
        )
    if isinstance(command, CommitOffers):
        return _commit(record, command, actor, now, note)
    if isinstance(command, ConfirmDelivery):
        return _confirm(record, command, actor, now, note)
    if isinstance(command, RecordDraw):
        return _draw(record, command, actor, now, note)
    if isinstance(command, WithdrawOffer):
        return offers.withdraw(record, command, actor=actor, now=now, note=note)
    if isinstance(command, AuthoriseDraw):
        note = f"authorised by {command.authority}" + (f": {note}" if note else "")
    if isinstance(command, Supersede | Clarify):
        other = command.by_request_id if isinstance(command, Supersede) else command.amended_request
        if other is not None:
            problem = _check_successor(record, other, lookup)
            if problem is not None:
                return Refused(code=_BAD_REF, detail=problem)
            note = f"superseded by {other}" + (f": {note}" if note else "")
            target = RequestState.SUPERSEDED
    return step(record, actor=actor, action=name, to_state=target, now=now, note=note)


def _check_successor(record: RequestRecord, other: str, lookup: Lookup) -> str | None:
    successor = lookup(other)
    if other == record.request_id or successor is None:
        return f"unknown successor request {other}"
    if successor.requester_nation != record.requester_nation:
        return f"request {other} was filed by another nation"
    if successor.state in TERMINAL_REQUEST_STATES:
        return f"request {other} is {successor.state.value}"
    return None


def _commit(
    record: RequestRecord, command: CommitOffers, actor: Actor, now: datetime, note: str
) -> RequestRecord | Refused:
    for offer_id in command.offer_ids:
        offer = record.offer(offer_id)
        if offer is None or offer.state is not OfferState.OPEN:
            return Refused(code=_BAD_REF, detail=f"offer {offer_id} is unknown or not open")
        if offer.commitment.value != "FIRM":
            return Refused(code=_BAD_REF, detail=f"offer {offer_id} is INDICATIVE, not firm")
    requested = {line.line_no: line.quantity for line in record.request.lines}
    offers = commit(record.offers, command.offer_ids, requested)
    return step(
        record,
        actor=actor,
        action="COMMIT",
        to_state=RequestState.COMMITTED,
        now=now,
        note=note,
        offers=offers,
    )


def _confirm(
    record: RequestRecord, command: ConfirmDelivery, actor: Actor, now: datetime, note: str
) -> RequestRecord | Refused:
    consignment = record.consignment(command.consignment_id)
    if consignment is None or consignment.status is ConsignmentStatus.PREPARING:
        return Refused(
            code=_BAD_REF, detail=f"consignment {command.consignment_id} is unknown or not shipped"
        )
    if consignment.confirmed:
        return Refused(
            code=RejectionCode.DUPLICATE_ENTITY,
            detail=f"consignment {command.consignment_id} is already confirmed",
        )
    shipped = {line.line_no: line.quantity for line in consignment.lines}
    excess = [
        f"line {line.line_no}"
        for line in command.received
        if line.quantity > shipped.get(line.line_no, 0)
    ]
    if excess:
        return Refused(code=_BAD_REF, detail=f"more received than shipped: {', '.join(excess)}")
    confirmed = ConsignmentRecord(
        consignment_id=consignment.consignment_id,
        offer_id=consignment.offer_id,
        shipper=consignment.shipper,
        status=ConsignmentStatus.RECEIVED,
        lines=consignment.lines,
        received=command.received,
        confirmed=True,
    )
    consignments = tuple(
        confirmed if c.consignment_id == confirmed.consignment_id else c
        for c in record.consignments
    )
    done = delivered_in_full(progress(record, record.offers, consignments))
    if command.discrepancies:
        note = f"discrepancies: {command.discrepancies}" + (f"; {note}" if note else "")
    return step(
        record,
        actor=actor,
        action="CONFIRM_DELIVERY",
        to_state=RequestState.DELIVERED if done else record.state,
        now=now,
        note=note,
        consignments=consignments,
    )


def _draw(
    record: RequestRecord, command: RecordDraw, actor: Actor, now: datetime, note: str
) -> RequestRecord | Refused:
    requested = {line.line_no: line.quantity for line in record.request.lines}
    wrong = [
        f"line {line.line_no}"
        for line in command.drawn
        if line.quantity > requested.get(line.line_no, 0)
    ]
    if wrong:
        return Refused(code=_BAD_REF, detail=f"drawn beyond the request: {', '.join(wrong)}")
    consignment = ConsignmentRecord(
        consignment_id=draw_consignment_id(record.request_id),
        offer_id=None,
        shipper=actor.desk_id,
        status=ConsignmentStatus.DISPATCHED,
        lines=command.drawn,
    )
    return step(
        record,
        actor=actor,
        action="RECORD_DRAW",
        to_state=RequestState.DRAWN,
        now=now,
        note=note or f"drawn from {record.request.depot}",
        consignments=(*record.consignments, consignment),
    )


def _statement(action: RequestAction) -> str:
    command = action.command
    for field in ("explanation", "reason", "answers", "note"):
        value = getattr(command, field, None)
        if isinstance(value, str) and value:
            return value[:1000]
    if hasattr(command, "questions"):
        return "; ".join(command.questions)[:1000]
    return ""
