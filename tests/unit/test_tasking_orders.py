"""Tasking pure logic: orders, acknowledgements, status authority, FRAGOs, overdue alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import domain_builders as build
from domain_builders import DEMO as REGISTRY
from domain_builders import NATION_DESKS as DESKS
from domain_builders import UNITS

from schemas import codec
from schemas.body import Body
from schemas.common import Position, TimeWindow
from schemas.envelope import Envelope
from schemas.kinds.notifications import ActionRejected, Escalation, EscalationReason, RejectionCode
from schemas.kinds.tasking import (
    OrderType,
    Readiness,
    SitRep,
    Task,
    TaskingOrder,
    TaskState,
    TaskStatus,
)
from schemas.precedence import Precedence
from services.monitoring import scenario
from services.runtime.outbox import Output, ServiceDesk
from services.tasking.service import TaskingService
from services.tasking.state import OrderRecord

NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
HQ = "cell.mnf-hq"
ORDER = "opord-0001"
LABEL = scenario.label(NOW, ("FRA", "GBR", "POL", "UKR", "USA"))
FRAME = TimeWindow(start=NOW, end=NOW + timedelta(days=1))


def service() -> TaskingService:
    desk = ServiceDesk(desk_id="svc.tasking", prefix="tunit.", flash=False)
    return TaskingService(desk, REGISTRY, ack_window=timedelta(hours=1))


def env(
    originator: str,
    body: Body,
    *,
    action_to: tuple[str, ...] = ("svc.tasking",),
    ack: bool = False,
) -> Envelope:
    ack_by = NOW + timedelta(hours=1) if ack else None
    precedence = Precedence.IMMEDIATE
    return build.envelope(
        originator, body, to=action_to, at=NOW, precedence=precedence, label=LABEL, ack_by=ack_by
    )


def task(nation: str, purpose: str = "Deter and reassure") -> Task:
    window = TimeWindow(start=NOW + timedelta(hours=2), end=NOW + timedelta(hours=10))
    return build.task(nation, window, purpose)


def order(originator: str = HQ) -> Envelope:
    tasks = (task("GBR"), task("FRA"), task("POL"))
    body = build.order(OrderType.OPORD, tasks, FRAME, order_id=ORDER)
    return env(originator, body, action_to=("gbr.pjhq", "fra.cell", "pol.mon"), ack=True)


def frago(change: int, purpose: str) -> Envelope:
    body = build.order(
        OrderType.FRAGO,
        (task("FRA", purpose),),
        FRAME,
        order_id=f"{ORDER}-frago-{change}",
        base_order_id=ORDER,
        change_number=change,
    )
    return env(HQ, body, action_to=("fra.cell",), ack=True)


def status(nation: str, state: TaskState, *, reason: str = "", desk: str | None = None) -> Envelope:
    body = build.task_status(ORDER, nation, state, at=NOW, reason=reason)
    return env(desk or DESKS[nation], body, action_to=(HQ,))


def handle(svc: TaskingService, envelope: Envelope, now: datetime = NOW) -> list[Output]:
    body = envelope.body
    assert isinstance(body, TaskingOrder | TaskStatus | SitRep)
    return svc.handle_message(envelope, body, now)


def sent(outputs: list[Output]) -> list[Envelope]:
    return [codec.decode(o.value or b"") for o in outputs if ".submit." in o.topic]


def refusal(outputs: list[Output]) -> ActionRejected:
    (envelope,) = sent(outputs)
    assert isinstance(envelope.body, ActionRejected)
    assert not [o for o in outputs if ".state." in o.topic]
    return envelope.body


def states(svc: TaskingService) -> dict[str, TaskState]:
    return {t.task_id: t.state for t in svc.orders[ORDER].tasks}


def test_three_nations_one_completes_one_declines_one_silent_and_alerted_once() -> None:
    svc = service()
    assert handle(svc, order())
    for state in (TaskState.ACKNOWLEDGED, TaskState.WILL_COMPLY, TaskState.IN_PROGRESS):
        assert handle(svc, status("GBR", state))
    handle(svc, status("GBR", TaskState.COMPLETED))
    handle(svc, status("FRA", TaskState.CANNOT_COMPLY, reason="Hull repairs until April"))
    assert states(svc) == {
        "t-gbr": TaskState.COMPLETED,
        "t-fra": TaskState.CANNOT_COMPLY,
        "t-pol": TaskState.RECEIVED,
    }
    assert svc.orders[ORDER].task("t-fra") is not None
    assert svc.tick(NOW + timedelta(minutes=30)) == []  # not due yet
    late = svc.tick(NOW + timedelta(hours=1, minutes=1))
    (alert,) = sent(late)
    assert isinstance(alert.body, Escalation)
    assert alert.body.reason is EscalationReason.ACK_OVERDUE
    assert alert.body.outstanding == ("pol.mon",)
    assert alert.action_to == (HQ,)
    assert alert.info_to == ("ROLE:WATCH",)
    assert svc.tick(NOW + timedelta(hours=1, minutes=2)) == []  # raised once
    (done,) = sent(svc.tick(NOW + timedelta(hours=11)))
    assert isinstance(done.body, Escalation)
    assert done.body.reason is EscalationReason.TASK_OVERDUE  # still not started


def test_status_from_another_nation_and_out_of_order_are_refused() -> None:
    svc = service()
    handle(svc, order())
    rejected = refusal(handle(svc, status("POL", TaskState.ACKNOWLEDGED, desk="gbr.pjhq")))
    assert rejected.code is RejectionCode.NOT_AUTHORISED
    assert "POL" in rejected.detail
    rejected = refusal(handle(svc, status("POL", TaskState.COMPLETED)))
    assert rejected.code is RejectionCode.INVALID_TRANSITION
    assert rejected.current_state == "RECEIVED"
    assert states(svc)["t-pol"] is TaskState.RECEIVED


def test_only_force_hq_issues_orders_and_every_nation_must_be_addressed() -> None:
    svc = service()
    assert refusal(handle(svc, order("gbr.pjhq"))).code is RejectionCode.NOT_AUTHORISED
    unaddressed = order()
    body = unaddressed.body
    partial = env(HQ, body, action_to=("NATION:GBR", "fra.cell"), ack=True)
    rejected = refusal(handle(svc, partial))
    assert rejected.code is RejectionCode.INVALID_REFERENCE
    assert "POL" in rejected.detail
    assert svc.orders == {}


def test_frago_supersedes_a_task_and_its_assignee_acknowledges_the_new_version() -> None:
    svc = service()
    handle(svc, order())
    handle(svc, status("FRA", TaskState.CANNOT_COMPLY, reason="Hull repairs"))
    assert handle(svc, frago(1, "Escort the grain convoy instead"))
    changed = svc.orders[ORDER].task("t-fra")
    assert changed is not None
    assert (changed.change, changed.state) == (1, TaskState.RECEIVED)
    assert changed.task.purpose == "Escort the grain convoy instead"
    assert changed.assignees == ("fra.cell",)
    assert svc.orders[ORDER].change_number == 1
    stale = refusal(handle(svc, frago(1, "Older idea")))
    assert stale.code is RejectionCode.VERSION_CONFLICT
    assert handle(svc, status("FRA", TaskState.WILL_COMPLY))
    assert states(svc)["t-fra"] is TaskState.WILL_COMPLY


def test_replayed_status_changes_nothing_and_sitreps_are_recorded() -> None:
    svc = service()
    handle(svc, order())
    ack = status("GBR", TaskState.ACKNOWLEDGED)
    assert handle(svc, ack)
    assert handle(svc, ack) == []
    sitrep = SitRep(
        unit=UNITS["GBR"],
        nation="GBR",
        period=TimeWindow(start=NOW - timedelta(hours=6), end=NOW),
        order_id=ORDER,
        readiness=Readiness.GREEN,
        location=Position(lat=46.48, lon=30.73),
        activity="Patrolling the coastal road",
    )
    assert handle(svc, env("gbr.pjhq", sitrep, action_to=(HQ,)))
    record: OrderRecord = svc.orders[ORDER]
    assert [s.sitrep.unit for s in record.sitreps] == [UNITS["GBR"]]
    foreign = refusal(handle(svc, env("fra.cell", sitrep, action_to=(HQ,))))
    assert foreign.code is RejectionCode.NOT_AUTHORISED
