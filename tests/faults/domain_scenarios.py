"""Inputs of the domain-service kill scenarios, and their uninterrupted outcome.

Each scenario is the list of envelopes the desks send one service (a breach case from its
registration to CLOSED; a support request from filing to CLOSED; an order with three tasks,
their statuses and a FRAGO), stamped with the real clock. ``reference`` runs the same input
through the service's own handler in this process, with nothing killed: the fault test
compares what the killed and restarted subprocess committed with that.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas import codec
from schemas.body import Body
from schemas.common import Area, TimeWindow, TrafficType
from schemas.desks import DeskRegistry, load_registry
from schemas.envelope import Envelope
from schemas.kinds.commission import (
    Attribution,
    AttributionConfidence,
    ComplianceStatus,
    Determination,
    Dissent,
    Finding,
    Outcome,
    Remedy,
    RemedyType,
    Responsibility,
    Votes,
)
from schemas.kinds.commission_actions import (
    CaseAction,
    CaseCommandUnion,
    CloseCase,
    ComplianceUpdate,
    DraftFindings,
    IssueRemedies,
    OpenInvestigation,
    RecordDetermination,
    RegisterAllegation,
    StartPreliminaryReview,
    SubmitForReview,
    UpdateCompliance,
)
from schemas.kinds.support import (
    CapabilityArea,
    Commitment,
    Consignment,
    ConsignmentLine,
    ConsignmentStatus,
    DeliveryPoint,
    Offer,
    OfferLine,
    RequestKind,
    RequestLine,
    SupportRequest,
    TransportMode,
    Urgency,
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
from schemas.kinds.tasking import (
    OrderType,
    Task,
    TaskDomain,
    TaskingOrder,
    TaskState,
    TaskStatus,
    TaskType,
)
from schemas.labels import Classification, Policy, SecurityLabel
from schemas.precedence import Precedence
from services.commission.service import CommissionService
from services.runtime.outbox import Output, ServiceDesk
from services.runtime.servicedesk import service_desk
from services.support.service import SupportService
from services.tasking.service import TaskingService

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_registry(ROOT / "deploy/desks/demo.json")
M1, M2, M3 = "cell.commission-1", "cell.commission-2", "cell.commission-3"
CASE, REQUEST, ORDER = "case-kill-0001", "req-kill-0001", "opord-kill-0001"
HQ, WATCH, REQUESTER, GBR, FRA = "cell.mnf-hq", "cell.watch", "ukr.mod", "gbr.pjhq", "fra.cell"
UNITS = {"GBR": "3 Cdo Bde", "FRA": "BAP Lorient", "POL": "12 Mech Div"}
NATION_DESKS = {"GBR": GBR, "FRA": FRA, "POL": "pol.mon"}
REL_TO = ("USA", "UKR", "GBR", "FRA", "DEU", "POL", "CAN", "NLD", "ITA")


def registry(*desk_ids: str) -> DeskRegistry:
    """The demo desks a scenario needs (few desks: few inbox topics to provision)."""
    return DeskRegistry(desks=tuple(d for d in DEMO.desks if d.id in desk_ids))


COMMISSION_DESKS = registry(M1, M2, M3, "svc.monitoring", "svc.commission", "pol.mon", GBR)
SUPPORT_DESKS = registry(REQUESTER, WATCH, GBR, FRA, HQ, "svc.support")
TASKING_DESKS = registry(HQ, WATCH, GBR, FRA, "pol.mon", "svc.tasking")


def envelope(
    originator: str,
    body: Body,
    *,
    to: tuple[str, ...],
    now: datetime,
    released: datetime | None = None,
    ack_by: datetime | None = None,
) -> Envelope:
    at = released or now
    return Envelope(
        message_id=uuid.uuid4(),
        traffic_type=TrafficType.OPERATION,
        originator=originator,
        action_to=to,
        primary_precedence=Precedence.PRIORITY,
        copy_precedence=Precedence.PRIORITY,
        label=SecurityLabel(
            policy=Policy.NATO,
            classification=Classification.NATO_RESTRICTED,
            releasable_to=REL_TO,
            created_at=at,
        ),
        subject=f"{type(body).__name__} {body.entity_key() or ''}".strip(),
        created_at=at,
        released_at=at,
        ack_required=ack_by is not None,
        ack_by=ack_by,
        body=body,
    )


# --- commission: registration to CLOSED, one refusal on the way --------------------------


def commission(now: datetime) -> list[Envelope]:
    """Eleven actions: ten accepted (versions 1..10), one refused (not a member)."""

    def act(member: str, command: CaseCommandUnion) -> Envelope:
        return envelope(
            member, CaseAction(case_id=CASE, command=command), to=("COMMISSION",), now=now
        )

    remedies = tuple(
        Remedy(
            remedy_id=f"r{n}",
            remedy_type=kind,
            addressed_to="RUS",
            description=f"Remedy {n} of the kill scenario.",
            due_at=now + timedelta(days=7 * n),
        )
        for n, kind in ((1, RemedyType.WITHDRAW_WEAPONS), (2, RemedyType.ENHANCED_MONITORING))
    )
    determination = Determination(
        outcome=Outcome.VIOLATION_CONFIRMED,
        attributions=(
            Attribution(
                party="RUS",
                responsibility=Responsibility.RESPONSIBLE,
                confidence=AttributionConfidence.HIGH,
            ),
        ),
        votes=Votes(in_favour=2, against=1),
        dissents=(Dissent(member=M3, statement="The origin is not established."),),
        reasoning="Two bearings converge on fire from the east.",
        determined_at=now,
    )
    complied = ComplianceStatus.COMPLIED
    return [
        act(
            "svc.monitoring",
            RegisterAllegation(
                title="IMPACT at 47.7000,35.4000",
                incident_ids=("inc-kill-0001",),
                respondents=("RUS", "UKR"),
                summary="3 independent observers",
            ),
        ),
        act(M1, StartPreliminaryReview(rapporteur=M2)),
        act(GBR, StartPreliminaryReview(rapporteur=M1)),  # not a member: refused
        act(M2, OpenInvestigation(scope="The impact", investigators=(M2, "pol.mon"))),
        act(M2, DraftFindings(findings=(Finding(finding_id="f1", statement="152 mm."),))),
        act(M2, SubmitForReview(session_at=now + timedelta(days=1))),
        act(M1, RecordDetermination(determination=determination)),
        act(M1, IssueRemedies(remedies=remedies)),
        act(M2, UpdateCompliance(updates=(ComplianceUpdate(remedy_id="r1", status=complied),))),
        act(M1, UpdateCompliance(updates=(ComplianceUpdate(remedy_id="r2", status=complied),))),
        act(M1, CloseCase(closure_note="Remedies complied with.")),
    ]


# --- support: filed, validated, two donors, committed, delivered, closed -----------------


def support(now: datetime) -> list[Envelope]:
    """Twelve messages: eleven accepted, one refused (an offer from a non-donor)."""
    ship_to = DeliveryPoint(name="Rzeszow hub")
    by = date.today() + timedelta(days=14)  # noqa: DTZ011 - a calendar date, as desks write it

    def act(desk: str, command: RequestCommandUnion) -> Envelope:
        body = RequestAction(request_id=REQUEST, command=command)
        return envelope(desk, body, to=("svc.support",), now=now)

    def offer(donor: str, offer_id: str, lines: dict[int, int]) -> Envelope:
        body = Offer(
            offer_id=offer_id,
            request_id=REQUEST,
            commitment=Commitment.FIRM,
            lines=tuple(
                OfferLine(line_no=n, quantity=q, available_by=by) for n, q in lines.items()
            ),
        )
        return envelope(donor, body, to=("svc.support",), now=now)

    def shipped(donor: str, consignment_id: str, offer_id: str, lines: dict[int, int]) -> Envelope:
        body = Consignment(
            consignment_id=consignment_id,
            request_id=REQUEST,
            offer_id=offer_id,
            status=ConsignmentStatus.DISPATCHED,
            lines=tuple(ConsignmentLine(line_no=n, quantity=q) for n, q in lines.items()),
            transport=TransportMode.ROAD,
            origin="Donor depot",
            destination=ship_to,
            dispatched_at=now,
        )
        return envelope(donor, body, to=("svc.support",), now=now)

    def received(consignment_id: str, lines: dict[int, int]) -> Envelope:
        got = tuple(ConsignmentLine(line_no=n, quantity=q) for n, q in lines.items())
        return act(REQUESTER, ConfirmDelivery(consignment_id=consignment_id, received=got))

    request = SupportRequest(
        request_id=REQUEST,
        request_kind=RequestKind.MATERIEL,
        capability_area=CapabilityArea.AIR_DEFENCE,
        title="Interceptors for the eastern belt",
        lines=(
            RequestLine(line_no=1, item="Interceptor missile", quantity=100, unit="EA"),
            RequestLine(line_no=2, item="Launcher spares set", quantity=10, unit="SET"),
        ),
        justification="Sustained strikes on energy infrastructure.",
        priority_rank=1,
        urgency=Urgency.URGENT,
        required_by=by,
        delivery_point=ship_to,
    )
    return [
        envelope(REQUESTER, request, to=("svc.support",), now=now),
        act(WATCH, Validate()),
        act(WATCH, StartSourcing(solicit=("COALITION",))),
        offer(HQ, "off-hq-1", {1: 5}),  # not a donor: refused
        offer(GBR, "off-gbr-1", {1: 60}),
        offer(FRA, "off-fra-1", {1: 40, 2: 10}),
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

    def task(nation: str, purpose: str = "Deter and reassure") -> Task:
        return Task(
            task_id=f"t-{nation.lower()}",
            nation=nation,
            unit=UNITS[nation],
            domain=TaskDomain.MARITIME if nation == "FRA" else TaskDomain.LAND,
            task_type=TaskType.PRESENCE_PATROL,
            purpose=purpose,
            area=Area(name="Odesa approaches"),
            window=window,
        )

    def status(nation: str, state: TaskState, *, desk: str | None = None) -> Envelope:
        body = TaskStatus(
            order_id=ORDER,
            task_id=f"t-{nation.lower()}",
            state=state,
            unit=UNITS[nation],
            as_of=now,
            reason="Hull repairs" if state is TaskState.CANNOT_COMPLY else "",
        )
        return envelope(desk or NATION_DESKS[nation], body, to=(HQ,), now=now)

    def order(order_type: OrderType, tasks: tuple[Task, ...], **fields: Any) -> TaskingOrder:
        return TaskingOrder(
            order_type=order_type,
            operation_name="STEADFAST SHIELD",
            time_frame=window,
            tasks=tasks,
            **fields,
        )

    issued = now - timedelta(hours=2)
    opord = order(OrderType.OPORD, (task("GBR"), task("FRA"), task("POL")), order_id=ORDER)
    frago = order(
        OrderType.FRAGO,
        (task("FRA", "Escort the grain convoy instead"),),
        order_id=f"{ORDER}-frago-1",
        base_order_id=ORDER,
        change_number=1,
    )
    return [
        envelope(
            HQ,
            opord,
            to=tuple(NATION_DESKS.values()),
            now=now,
            released=issued,
            ack_by=issued + timedelta(hours=1),  # past: every RECEIVED task is ack-overdue
        ),
        status("GBR", TaskState.ACKNOWLEDGED),
        status("GBR", TaskState.WILL_COMPLY),
        status("FRA", TaskState.CANNOT_COMPLY),
        status("POL", TaskState.ACKNOWLEDGED, desk=GBR),  # not the tasked nation: refused
        envelope(HQ, frago, to=(FRA,), now=now, ack_by=now + timedelta(hours=1)),
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
