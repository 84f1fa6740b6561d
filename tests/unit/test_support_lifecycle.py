"""Support pure logic: the request lifecycle, offers, consignments, authority, fast path."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import domain_builders as build
from domain_builders import DEMO as REGISTRY

from schemas import codec
from schemas.body import Body
from schemas.common import Area
from schemas.envelope import Envelope
from schemas.kinds.alert import AlertStatus, AttackAlert, AttackType
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.kinds.support import (
    Consignment,
    ConsignmentLine,
    Offer,
    RequestKind,
    RequestState,
    RequestStatus,
    SupportRequest,
)
from schemas.kinds.support_actions import (
    Clarify,
    Close,
    CommitOffers,
    ConfirmDelivery,
    RecordDraw,
    RequestAction,
    RequestCommandUnion,
    ReturnForClarification,
    StartSourcing,
    Validate,
)
from schemas.precedence import Precedence
from services.runtime.outbox import Output, ServiceDesk
from services.support.machine import draw_consignment_id
from services.support.service import SupportService
from services.support.state import OfferState, RequestRecord, decode_record

NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
REQUESTER, WATCH = "ukr.mod", "cell.watch"
GBR, FRA, USA = "gbr.pjhq", "fra.cell", "usa.eucom"
REQ = "req-ukr-0001"


def service() -> SupportService:
    desk = ServiceDesk(desk_id="svc.support", prefix="tunit.")
    return SupportService(desk, REGISTRY, alert_wait=timedelta(minutes=10))


def env(
    originator: str,
    body: Body,
    *,
    precedence: Precedence = Precedence.PRIORITY,
    action_to: tuple[str, ...] = ("svc.support",),
) -> Envelope:
    return build.envelope(originator, body, to=action_to, at=NOW, precedence=precedence)


def request(
    request_id: str = REQ,
    *,
    kind: RequestKind = RequestKind.MATERIEL,
    alert: uuid.UUID | None = None,
) -> SupportRequest:
    return build.support_request(request_id, required_by=date(2026, 4, 1), kind=kind, alert=alert)


def action(originator: str, command: RequestCommandUnion, request_id: str = REQ) -> Envelope:
    return env(originator, RequestAction(request_id=request_id, command=command))


def offer(
    donor: str, offer_id: str, lines: dict[int, int], *, valid_until: datetime | None = None
) -> Envelope:
    by = date(2026, 3, 30)
    return env(donor, build.offer(REQ, offer_id, lines, available_by=by, valid_until=valid_until))


def consignment(donor: str, consignment_id: str, offer_id: str, lines: dict[int, int]) -> Envelope:
    return env(donor, build.consignment(REQ, consignment_id, offer_id, lines, at=NOW))


def alert(alert_id: str = "alert-0001", *, status: AlertStatus = AlertStatus.ACTIVE) -> Envelope:
    body = AttackAlert(
        alert_id=alert_id,
        status=status,
        attack_type=AttackType.MISSILE,
        detected_at=NOW,
        affected_areas=(Area(name="Kyiv oblast"),),
        description="Massed missile strike",
    )
    return env(WATCH, body, precedence=Precedence.FLASH, action_to=("ALL",))


def handle(svc: SupportService, envelope: Envelope) -> list[Output]:
    body = envelope.body
    if isinstance(body, AttackAlert):
        return svc.handle_alert(envelope, body, NOW)
    assert isinstance(body, SupportRequest | Offer | Consignment | RequestAction)
    return svc.handle_request_message(envelope, body, NOW)


def sent(outputs: list[Output]) -> list[Envelope]:
    return [codec.decode(o.value or b"") for o in outputs if ".submit." in o.topic]


def statuses(outputs: list[Output]) -> list[tuple[Envelope, RequestStatus]]:
    return [(e, e.body) for e in sent(outputs) if isinstance(e.body, RequestStatus)]


def refusal(outputs: list[Output]) -> ActionRejected:
    (envelope,) = sent(outputs)
    assert isinstance(envelope.body, ActionRejected)
    assert not [o for o in outputs if ".state." in o.topic]
    return envelope.body


def current(svc: SupportService, request_id: str = REQ) -> RequestRecord:
    return svc.requests[request_id]


def sourced(svc: SupportService) -> None:
    handle(svc, env(REQUESTER, request()))
    handle(svc, action(WATCH, Validate()))
    handle(svc, action(WATCH, StartSourcing(solicit=("COALITION",))))


def test_request_validated_matched_by_two_donors_committed_delivered_closed() -> None:
    svc = service()
    out = handle(svc, env(REQUESTER, request()))
    ((note, status),) = statuses(out)
    assert status.state is RequestState.ACKNOWLEDGED  # the service acknowledges receipt
    assert note.action_to == (REQUESTER,)
    assert handle(svc, action(WATCH, Validate()))
    out = handle(svc, action(WATCH, StartSourcing(solicit=("COALITION",))))
    ((note, status),) = statuses(out)
    assert status.state is RequestState.SOURCING
    assert "COALITION" in note.info_to  # solicited donors are told sourcing started

    handle(svc, offer(GBR, "off-gbr-1", {1: 60}))
    out = handle(svc, offer(FRA, "off-fra-1", {1: 60, 2: 5}))  # line 1 now over-offered
    ((note, status),) = statuses(out)
    assert status.state is RequestState.PARTIALLY_MATCHED
    assert set(note.info_to) == {GBR, FRA}
    assert [(ln.pledged, ln.requested) for ln in status.lines] == [(120, 100), (5, 10)]

    out = handle(svc, action(WATCH, CommitOffers(offer_ids=("off-gbr-1", "off-fra-1"))))
    ((_, status),) = statuses(out)
    assert status.state is RequestState.COMMITTED
    assert [ln.committed for ln in status.lines] == [100, 5]  # capped at the request
    fra = current(svc).offer("off-fra-1")
    assert fra is not None
    assert [ln.committed for ln in fra.lines] == [40, 5]

    handle(svc, consignment(FRA, "con-fra-1", "off-fra-1", {1: 40, 2: 5}))
    out = handle(svc, consignment(GBR, "con-gbr-1", "off-gbr-1", {1: 60}))
    assert statuses(out)[0][1].state is RequestState.IN_DELIVERY
    received = (ConsignmentLine(line_no=1, quantity=40), ConsignmentLine(line_no=2, quantity=5))
    out = handle(
        svc, action(REQUESTER, ConfirmDelivery(consignment_id="con-fra-1", received=received))
    )
    assert statuses(out)[0][1].state is RequestState.IN_DELIVERY  # one consignment still out
    second = (ConsignmentLine(line_no=1, quantity=60),)
    out = handle(
        svc, action(REQUESTER, ConfirmDelivery(consignment_id="con-gbr-1", received=second))
    )
    ((_, status),) = statuses(out)
    assert status.state is RequestState.DELIVERED
    assert [ln.delivered for ln in status.lines] == [100, 5]
    out = handle(svc, action(WATCH, Close(note="complete")))
    ((note, status),) = statuses(out)
    assert status.state is RequestState.CLOSED
    assert note.action_to == (REQUESTER,)
    assert set(note.info_to) == {GBR, FRA}
    assert [h.to_state for h in current(svc).history][-1] is RequestState.CLOSED


def test_offer_from_a_non_donor_is_refused_with_the_reason() -> None:
    svc = service()
    sourced(svc)
    rejected = refusal(handle(svc, offer("cell.mnf-hq", "off-hq-1", {1: 5})))
    assert rejected.code is RejectionCode.NOT_AUTHORISED
    assert "not a donor" in rejected.detail
    assert current(svc).offers == ()


def test_out_of_order_transition_is_refused_and_changes_nothing() -> None:
    svc = service()
    handle(svc, env(REQUESTER, request()))
    before = current(svc)
    rejected = refusal(handle(svc, action(WATCH, CommitOffers(offer_ids=("off-x",)))))
    assert rejected.code is RejectionCode.INVALID_TRANSITION
    assert rejected.current_state == "ACKNOWLEDGED"
    assert current(svc) == before


def test_requester_may_not_validate_and_a_replay_changes_nothing() -> None:
    svc = service()
    handle(svc, env(REQUESTER, request()))
    rejected = refusal(handle(svc, action(REQUESTER, Validate())))
    assert rejected.code is RejectionCode.NOT_AUTHORISED
    validate = action(WATCH, Validate())
    first = handle(svc, validate)
    assert first
    assert handle(svc, validate) == []  # same message id: a replay


def test_withdrawn_offer_no_longer_counts() -> None:
    svc = service()
    sourced(svc)
    handle(svc, offer(USA, "off-usa-1", {1: 100, 2: 10}))
    assert current(svc).state is RequestState.MATCHED
    out = handle(svc, offer(USA, "off-usa-1", {1: 100, 2: 10}, valid_until=NOW))
    ((_, status),) = statuses(out)
    assert status.state is RequestState.SOURCING
    withdrawn = current(svc).offer("off-usa-1")
    assert withdrawn is not None
    assert withdrawn.state is OfferState.WITHDRAWN
    assert (
        refusal(handle(svc, offer(GBR, "off-usa-1", {1: 1}))).code is RejectionCode.DUPLICATE_ENTITY
    )


def test_clarification_round_trip_returns_to_acknowledged() -> None:
    svc = service()
    handle(svc, env(REQUESTER, request()))
    out = handle(svc, action(WATCH, ReturnForClarification(questions=("Which launcher?",))))
    assert statuses(out)[0][1].state is RequestState.RETURNED_FOR_CLARIFICATION
    out = handle(svc, action(REQUESTER, Clarify(answers="The eastern belt launchers.")))
    ((_, status),) = statuses(out)
    assert status.state is RequestState.ACKNOWLEDGED
    assert [h.action for h in current(svc).history][-2:] == ["CLARIFY", "ACKNOWLEDGE"]


def test_depot_draw_after_attack_alert_takes_the_fast_path_at_flash() -> None:
    svc = service()
    raised = alert()
    handle(svc, raised)
    draw = env(
        "ukr.gs",
        request("req-draw-1", kind=RequestKind.DEPOT_DRAW, alert=raised.message_id),
        precedence=Precedence.FLASH,
    )
    out = handle(svc, draw)
    ((note, status),) = statuses(out)
    assert status.state is RequestState.AUTHORISED
    assert note.primary_precedence is Precedence.FLASH
    steps = [h.to_state for h in current(svc, "req-draw-1").history]
    assert RequestState.SOURCING not in steps
    assert steps[-2:] == [RequestState.VALIDATED, RequestState.AUTHORISED]
    drawn = (ConsignmentLine(line_no=1, quantity=100), ConsignmentLine(line_no=2, quantity=10))
    out = handle(svc, action(WATCH, RecordDraw(drawn=drawn), "req-draw-1"))
    assert statuses(out)[0][1].state is RequestState.DRAWN
    confirm = ConfirmDelivery(consignment_id=draw_consignment_id("req-draw-1"), received=drawn)
    out = handle(svc, action("ukr.gs", confirm, "req-draw-1"))
    ((note, status),) = statuses(out)
    assert status.state is RequestState.DELIVERED
    assert note.primary_precedence is Precedence.FLASH


def test_depot_draw_read_before_its_alert_waits_then_proceeds() -> None:
    svc = service()
    raised = alert()
    draw = env(
        "ukr.gs", request("req-draw-2", kind=RequestKind.DEPOT_DRAW, alert=raised.message_id)
    )
    handle(svc, draw)
    assert current(svc, "req-draw-2").state is RequestState.ACKNOWLEDGED
    out = handle(svc, raised)
    assert [s.state for _, s in statuses(out)] == [RequestState.AUTHORISED]
    assert current(svc, "req-draw-2").awaiting_alert is None


def test_state_survives_a_replay_of_the_state_topic() -> None:
    svc = service()
    sourced(svc)
    outputs = handle(svc, offer(GBR, "off-gbr-1", {1: 60}))
    rebuilt = service()
    for out in outputs:
        if ".state." in out.topic:
            rebuilt.load(out.key or b"", out.value)
    assert rebuilt.requests == svc.requests
    assert decode_record(outputs[0].value or b"") == svc.requests[REQ]
