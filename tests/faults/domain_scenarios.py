"""Inputs of the domain-service kill scenarios, and their uninterrupted outcome.

Each scenario is the list of envelopes the desks send one service (a breach case from its
registration to CLOSED; a support request from filing to CLOSED; an order with three tasks,
their statuses and a FRAGO), stamped with the real clock. ``reference`` runs the same input
through the service's own handler in this process, with nothing killed: the fault test
compares what the killed and restarted subprocess committed with that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain_builders import (
    DEMO,
    M1,
    M2,
    M3,
    NATION_DESKS,
    allegation,
    case_action,
    consignment,
    determination,
    envelope,
    lines_of,
    offer,
    order,
    remedies,
    support_request,
    task,
    task_status,
)

from schemas import codec
from schemas.body import Body
from schemas.common import TimeWindow
from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.commission import ComplianceStatus, Finding
from schemas.kinds.commission_actions import (
    CaseAction,
    CaseCommandUnion,
    CloseCase,
    ComplianceUpdate,
    DraftFindings,
    IssueRemedies,
    OpenInvestigation,
    RecordDetermination,
    StartPreliminaryReview,
    SubmitForReview,
    UpdateCompliance,
)
from schemas.kinds.support_actions import (
    Close,
    CommitOffers,
    ConfirmDelivery,
    RequestAction,
    RequestCommandUnion,
    StartSourcing,
    Validate,
)
from schemas.kinds.tasking import OrderType, TaskState
from services.commission.service import CommissionService
from services.runtime.outbox import Output, ServiceDesk
from services.runtime.servicedesk import service_desk
from services.support.service import SupportService
from services.tasking.service import TaskingService

CASE, REQUEST, ORDER = "case-kill-0001", "req-kill-0001", "opord-kill-0001"
HQ, WATCH, REQUESTER, GBR, FRA = "cell.mnf-hq", "cell.watch", "ukr.mod", "gbr.pjhq", "fra.cell"


def registry(*desk_ids: str) -> DeskRegistry:
    """The demo desks a scenario needs (few desks: few inbox topics to provision)."""
    return DeskRegistry(desks=tuple(d for d in DEMO.desks if d.id in desk_ids))


COMMISSION_DESKS = registry(M1, M2, M3, "svc.monitoring", "svc.commission", "pol.mon", GBR)
SUPPORT_DESKS = registry(REQUESTER, WATCH, GBR, FRA, HQ, "svc.support")
TASKING_DESKS = registry(HQ, WATCH, GBR, FRA, "pol.mon", "svc.tasking")


# --- commission: registration to CLOSED, one refusal on the way --------------------------


def commission(now: datetime) -> list[Envelope]:
    """Eleven actions: ten accepted (versions 1..10), one refused (not a member)."""

    def act(member: str, command: CaseCommandUnion) -> Envelope:
        return case_action(member, CASE, command, at=now)

    complied = ComplianceStatus.COMPLIED
    return [
        act("svc.monitoring", allegation("inc-kill-0001")),
        act(M1, StartPreliminaryReview(rapporteur=M2)),
        act(GBR, StartPreliminaryReview(rapporteur=M1)),  # not a member: refused
        act(M2, OpenInvestigation(scope="The impact", investigators=(M2, "pol.mon"))),
        act(M2, DraftFindings(findings=(Finding(finding_id="f1", statement="152 mm."),))),
        act(M2, SubmitForReview(session_at=now + timedelta(days=1))),
        act(M1, RecordDetermination(determination=determination(now))),
        act(M1, IssueRemedies(remedies=remedies(now))),
        act(M2, UpdateCompliance(updates=(ComplianceUpdate(remedy_id="r1", status=complied),))),
        act(M1, UpdateCompliance(updates=(ComplianceUpdate(remedy_id="r2", status=complied),))),
        act(M1, CloseCase(closure_note="Remedies complied with.")),
    ]


# --- support: filed, validated, two donors, committed, delivered, closed -----------------


def support(now: datetime) -> list[Envelope]:
    """Twelve messages: eleven accepted, one refused (an offer from a non-donor)."""
    by = date.today() + timedelta(days=14)  # noqa: DTZ011 - a calendar date, as desks write it

    def send(desk: str, body: Body) -> Envelope:
        return envelope(desk, body, to=("svc.support",), at=now)

    def act(desk: str, command: RequestCommandUnion) -> Envelope:
        return send(desk, RequestAction(request_id=REQUEST, command=command))

    def offered(donor: str, offer_id: str, lines: dict[int, int]) -> Envelope:
        return send(donor, offer(REQUEST, offer_id, lines, available_by=by))

    def shipped(donor: str, consignment_id: str, offer_id: str, lines: dict[int, int]) -> Envelope:
        return send(donor, consignment(REQUEST, consignment_id, offer_id, lines, at=now))

    def received(consignment_id: str, lines: dict[int, int]) -> Envelope:
        confirm = ConfirmDelivery(consignment_id=consignment_id, received=lines_of(lines))
        return act(REQUESTER, confirm)

    return [
        send(REQUESTER, support_request(REQUEST, required_by=by)),
        act(WATCH, Validate()),
        act(WATCH, StartSourcing(solicit=("COALITION",))),
        offered(HQ, "off-hq-1", {1: 5}),  # not a donor: refused
        offered(GBR, "off-gbr-1", {1: 60}),
        offered(FRA, "off-fra-1", {1: 40, 2: 10}),
        act(WATCH, CommitOffers(offer_ids=("off-gbr-1", "off-fra-1"))),
        shipped(FRA, "con-fra-1", "off-fra-1", {1: 40, 2: 10}),
        shipped(GBR, "con-gbr-1", "off-gbr-1", {1: 60}),
        received("con-fra-1", {1: 40, 2: 10}),
        received("con-gbr-1", {1: 60}),
        act(WATCH, Close(note="complete")),
    ]


# --- tasking: an order of three tasks, statuses, a FRAGO ----------------------------------


def tasking(now: datetime) -> list[Envelope]:
    """An order whose acknowledgements are already overdue, nine follow-ups, one refused."""
    window = TimeWindow(start=now - timedelta(hours=1), end=now + timedelta(days=1))

    def status(nation: str, state: TaskState, *, desk: str | None = None) -> Envelope:
        reason = "Hull repairs" if state is TaskState.CANNOT_COMPLY else ""
        body = task_status(ORDER, nation, state, at=now, reason=reason)
        return envelope(desk or NATION_DESKS[nation], body, to=(HQ,), at=now)

    issued = now - timedelta(hours=2)
    tasks = (task("GBR", window), task("FRA", window), task("POL", window))
    opord = order(OrderType.OPORD, tasks, window, order_id=ORDER)
    frago = order(
        OrderType.FRAGO,
        (task("FRA", window, "Escort the grain convoy instead"),),
        window,
        order_id=f"{ORDER}-frago-1",
        base_order_id=ORDER,
        change_number=1,
    )
    return [
        envelope(
            HQ,
            opord,
            to=tuple(NATION_DESKS.values()),
            at=issued,
            ack_by=issued + timedelta(hours=1),  # past: every RECEIVED task is ack-overdue
        ),
        status("GBR", TaskState.ACKNOWLEDGED),
        status("GBR", TaskState.WILL_COMPLY),
        status("FRA", TaskState.CANNOT_COMPLY),
        status("POL", TaskState.ACKNOWLEDGED, desk=GBR),  # not the tasked nation: refused
        envelope(HQ, frago, to=(FRA,), at=now, ack_by=now + timedelta(hours=1)),
        status("FRA", TaskState.ACKNOWLEDGED),
        status("GBR", TaskState.IN_PROGRESS),
        status("FRA", TaskState.WILL_COMPLY),
        status("GBR", TaskState.COMPLETED),
    ]


# --- the uninterrupted run ----------------------------------------------------------------


def reference(service: str, prefix: str, steps: list[Envelope], now: datetime) -> list[Output]:
    """Every output of ``steps`` handled in order by a fresh handler, nothing killed."""
    handlers: dict[str, Callable[[], Any]] = {
        # As the workers build them (the commission worker signs without a registry check).
        "commission": lambda: CommissionService(
            ServiceDesk(desk_id="svc.commission", prefix=prefix), COMMISSION_DESKS
        ),
        "support": lambda: SupportService(
            *service_desk("svc.support", desks_file="", prefix=prefix, registry=SUPPORT_DESKS),
            alert_wait=timedelta(minutes=10),
        ),
        "tasking": lambda: TaskingService(
            *service_desk("svc.tasking", desks_file="", prefix=prefix, registry=TASKING_DESKS),
            ack_window=timedelta(hours=1),
        ),
    }
    handler = handlers[service]()
    outputs: list[Output] = []
    for step in steps:
        body = step.body
        if isinstance(body, CaseAction):
            outputs += handler.handle_action(step, body, now)
        elif service == "support":
            outputs += handler.handle_request_message(step, body, now)
        else:
            outputs += handler.handle_message(step, body, now)
    return outputs


def sent_ids(outputs: list[Output]) -> list[str]:
    """Message ids of the envelopes among ``outputs`` (those for the submit lanes)."""
    return [str(codec.decode(o.value or b"").message_id) for o in outputs if ".submit." in o.topic]
