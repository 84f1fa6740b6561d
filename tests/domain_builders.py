"""Commission, support and tasking messages as desks send them: the tests' shared builders.

Unit, fault and end-to-end tests build the same typed bodies (a determination and its
remedies, a support request with offers and consignments, an order's tasks and their
statuses) and wrap them in envelopes the same way; they all take them from here.

Imported by its module name (``import domain_builders``): ``tests/`` is on ``sys.path``
because pytest (rootdir ``conftest.py``, default ``prepend`` import mode) puts it there.
Never import a ``conftest`` by name: another folder's conftest may answer.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.body import Body
from schemas.common import Area, TimeWindow, TrafficType
from schemas.desks import load_registry
from schemas.envelope import Envelope
from schemas.kinds.commission import (
    Attribution,
    AttributionConfidence,
    Determination,
    Dissent,
    Outcome,
    Remedy,
    RemedyType,
    Responsibility,
    Votes,
)
from schemas.kinds.commission_actions import CaseAction, CaseCommandUnion, RegisterAllegation
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
from schemas.kinds.tasking import (
    OrderType,
    Task,
    TaskDomain,
    TaskingOrder,
    TaskState,
    TaskStatus,
    TaskType,
)
from schemas.labels import SecurityLabel
from schemas.precedence import Precedence
from services.monitoring import scenario

DEMO = load_registry(Path(__file__).resolve().parents[1] / "deploy/desks/demo.json")
MEMBERS = ("cell.commission-1", "cell.commission-2", "cell.commission-3")
M1, M2, M3 = MEMBERS
UNITS = {"GBR": "3 Cdo Bde", "FRA": "BAP Lorient", "POL": "12 Mech Div"}
NATION_DESKS = {"GBR": "gbr.pjhq", "FRA": "fra.cell", "POL": "pol.mon"}
HUB = DeliveryPoint(name="Rzeszow hub")


def envelope(
    originator: str,
    body: Body,
    *,
    to: tuple[str, ...],
    at: datetime,
    precedence: Precedence = Precedence.PRIORITY,
    label: SecurityLabel | None = None,
    ack_by: datetime | None = None,
    in_reply_to: uuid.UUID | None = None,
) -> Envelope:
    """Released at ``at`` under a NATO RESTRICTED label (``scenario.label``) unless given."""
    return Envelope(
        message_id=uuid.uuid4(),
        traffic_type=TrafficType.OPERATION,
        originator=originator,
        action_to=to,
        primary_precedence=precedence,
        copy_precedence=precedence,
        label=label or scenario.label(at),
        subject=f"{type(body).__name__} {body.entity_key() or ''}".strip(),
        created_at=at,
        released_at=at,
        in_reply_to=in_reply_to,
        ack_required=ack_by is not None,
        ack_by=ack_by,
        body=body,
    )


# --- commission -------------------------------------------------------------------------------


def case_action(
    member: str,
    case_id: str,
    command: CaseCommandUnion,
    *,
    at: datetime,
    rationale: str = "",
    label: SecurityLabel | None = None,
) -> Envelope:
    """A case action to the whole Commission, so that every member sees it."""
    body = CaseAction(case_id=case_id, command=command, rationale=rationale)
    return envelope(member, body, to=("COMMISSION",), at=at, label=label)


def allegation(incident_id: str, *, summary: str = "3 independent observers") -> RegisterAllegation:
    """What the monitoring service registers for an incident whose breach rule matched."""
    return RegisterAllegation(
        title="IMPACT at 47.7000,35.4000",
        incident_ids=(incident_id,),
        respondents=("RUS", "UKR"),
        summary=summary,
    )


def determination(at: datetime) -> Determination:
    """Violation confirmed 2 to 1: RUS responsible, UKR not; M3's dissent recorded."""
    return Determination(
        outcome=Outcome.VIOLATION_CONFIRMED,
        attributions=(
            Attribution(
                party="RUS",
                responsibility=Responsibility.RESPONSIBLE,
                confidence=AttributionConfidence.HIGH,
                reasoning="Origin of fire ENE, behind the line of contact.",
            ),
            Attribution(
                party="UKR",
                responsibility=Responsibility.NOT_RESPONSIBLE,
                confidence=AttributionConfidence.MODERATE,
            ),
        ),
        votes=Votes(in_favour=2, against=1),
        dissents=(Dissent(member=M3, statement="The origin is not established beyond doubt."),),
        reasoning="Crater analysis and two independent bearings converge on fire from ENE.",
        determined_at=at,
    )


def remedies(at: datetime) -> tuple[Remedy, ...]:
    """r1: withdraw the artillery within a week; r2: monitors' access within two weeks."""
    return (
        Remedy(
            remedy_id="r1",
            remedy_type=RemedyType.WITHDRAW_WEAPONS,
            addressed_to="RUS",
            description="Withdraw 152 mm artillery beyond the withdrawal line.",
            due_at=at + timedelta(days=7),
        ),
        Remedy(
            remedy_id="r2",
            remedy_type=RemedyType.ENHANCED_MONITORING,
            addressed_to="RUS",
            description="Grant monitors access to the firing positions for 30 days.",
            due_at=at + timedelta(days=14),
        ),
    )


# --- support ----------------------------------------------------------------------------------


def support_request(
    request_id: str,
    *,
    required_by: date,
    kind: RequestKind = RequestKind.MATERIEL,
    alert: uuid.UUID | None = None,
) -> SupportRequest:
    """Interceptors (100 EA) and launcher spares (10 SET); a depot draw names its alert."""
    draw = kind is RequestKind.DEPOT_DRAW
    return SupportRequest(
        request_id=request_id,
        request_kind=kind,
        capability_area=CapabilityArea.AIR_DEFENCE,
        title="Interceptors for the eastern air defence belt",
        lines=(
            RequestLine(line_no=1, item="Interceptor missile", quantity=100, unit="EA"),
            RequestLine(line_no=2, item="Launcher spares set", quantity=10, unit="SET"),
        ),
        justification="Sustained strikes on energy infrastructure.",
        priority_rank=1,
        urgency=Urgency.URGENT,
        required_by=required_by,
        delivery_point=HUB,
        depot="Depot North" if draw else None,
        activating_alert=alert,
    )


def offer(
    request_id: str,
    offer_id: str,
    lines: dict[int, int],
    *,
    available_by: date,
    valid_until: datetime | None = None,
) -> Offer:
    """A firm offer: ``lines`` maps line number to quantity."""
    return Offer(
        offer_id=offer_id,
        request_id=request_id,
        commitment=Commitment.FIRM,
        lines=tuple(
            OfferLine(line_no=n, quantity=q, available_by=available_by) for n, q in lines.items()
        ),
        valid_until=valid_until,
    )


def consignment(
    request_id: str, consignment_id: str, offer_id: str, lines: dict[int, int], *, at: datetime
) -> Consignment:
    """Dispatched by road at ``at`` from the donor's depot to the hub."""
    return Consignment(
        consignment_id=consignment_id,
        request_id=request_id,
        offer_id=offer_id,
        status=ConsignmentStatus.DISPATCHED,
        lines=lines_of(lines),
        transport=TransportMode.ROAD,
        origin="Donor depot",
        destination=HUB,
        dispatched_at=at,
    )


def lines_of(quantities: dict[int, int]) -> tuple[ConsignmentLine, ...]:
    """Consignment (or receipt, or draw) lines: line number -> quantity."""
    return tuple(ConsignmentLine(line_no=n, quantity=q) for n, q in quantities.items())


# --- tasking ----------------------------------------------------------------------------------


def task(nation: str, window: TimeWindow, purpose: str = "Deter and reassure") -> Task:
    """A presence patrol off Odesa by the nation's unit (FRA at sea, the others on land)."""
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


def order(
    order_type: OrderType, tasks: tuple[Task, ...], time_frame: TimeWindow, **fields: Any
) -> TaskingOrder:
    """An order of operation STEADFAST SHIELD (``fields``: ids, FRAGO base and change)."""
    return TaskingOrder(
        order_type=order_type,
        operation_name="STEADFAST SHIELD",
        time_frame=time_frame,
        tasks=tasks,
        **fields,
    )


def task_status(
    order_id: str, nation: str, state: TaskState, *, at: datetime, reason: str = ""
) -> TaskStatus:
    """The nation's unit reports its task's state as of ``at``."""
    return TaskStatus(
        order_id=order_id,
        task_id=f"t-{nation.lower()}",
        state=state,
        unit=UNITS[nation],
        as_of=at,
        reason=reason,
    )
