"""Response bodies of the query routes: frozen msgspec Structs, documented in the OpenAPI.

Answers are built from the services' state records when a record is applied to the views
(``convert.py``), not per request: a query filters, sorts and encodes. Each carries the
display marking of its label, so a desk sees how the data it was given is classified.
Lists say how many visible items matched (``total``) and whether ``limit`` cut them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta, Struct

from schemas.common import Area, Position, TimeWindow, TrafficType
from schemas.kinds.commission import BreachCase, CaseState
from schemas.kinds.monitoring import Casualties, EventType, IncidentStatus, Severity
from schemas.kinds.support import (
    CapabilityArea,
    Commitment,
    ConsignmentStatus,
    RequestKind,
    RequestState,
    Urgency,
)
from schemas.kinds.tasking import OrderType, TaskDomain, TaskState, TaskType

Marking = Annotated[
    str, Meta(description="Display marking of the record's label, e.g. `NATO SECRET//REL TO …`")
]
Total = Annotated[int, Meta(description="Visible items that matched, before `limit`")]
Truncated = Annotated[bool, Meta(description="`limit` cut the list; narrow the query")]


# --- incidents ----------------------------------------------------------------------------


class IncidentAnswer(Struct, frozen=True, kw_only=True):
    incident_id: str
    status: IncidentStatus
    event_type: EventType
    severity: Severity
    location: Position
    radius_m: float
    window: TimeWindow
    corroboration_count: int
    observation_count: int
    casualties: Casualties | None
    referred_case_id: str | None
    breach_rules: tuple[str, ...]
    withdrawal_zone: str | None
    assessment: str
    traffic_type: TrafficType
    marking: Marking


class IncidentList(Struct, frozen=True, kw_only=True):
    incidents: tuple[IncidentAnswer, ...]
    total: Total
    truncated: Truncated


# --- cases --------------------------------------------------------------------------------


class CaseHistory(Struct, frozen=True, kw_only=True):
    message_id: UUID
    action: str
    actor: Annotated[str, Meta(description="Desk that took the action")]
    at: datetime
    from_state: CaseState | None
    to_state: CaseState
    version: int
    rationale: str


class CasePosition(Struct, frozen=True, kw_only=True):
    member: str
    position: Annotated[str, Meta(description="The action taken, or DISSENT")]
    statement: str
    at: datetime
    version: int


class CaseAnswer(Struct, frozen=True, kw_only=True):
    case: BreachCase
    history: Annotated[tuple[CaseHistory, ...], Meta(description="Accepted actions, in order")]
    positions: Annotated[tuple[CasePosition, ...], Meta(description="Each member's latest")]
    traffic_type: TrafficType
    marking: Marking


class CaseSummary(Struct, frozen=True, kw_only=True):
    case_id: str
    state: CaseState
    version: int
    title: str
    opened_at: datetime
    updated_at: datetime
    incident_ids: tuple[str, ...]
    respondents: tuple[str, ...]
    traffic_type: TrafficType
    marking: Marking


class CaseList(Struct, frozen=True, kw_only=True):
    cases: tuple[CaseSummary, ...]
    total: Total
    truncated: Truncated


# --- support requests ---------------------------------------------------------------------


class Totals(Struct, frozen=True, kw_only=True):
    requested: int
    offered: Annotated[int, Meta(description="Pledged by live offers (open or committed)")]
    committed: int
    delivered: int


class RequestLineAnswer(Struct, frozen=True, kw_only=True):
    line_no: int
    item: str | None
    unit: str | None
    requested: int
    offered: int
    committed: int
    delivered: int


class RequestHistory(Struct, frozen=True, kw_only=True):
    message_id: UUID
    action: str
    actor: str
    at: datetime
    from_state: RequestState | None
    to_state: RequestState
    version: int
    note: str


class OfferAnswer(Struct, frozen=True, kw_only=True):
    offer_id: str
    donor: str
    commitment: Commitment
    state: str
    revision: int


class ConsignmentAnswer(Struct, frozen=True, kw_only=True):
    consignment_id: str
    offer_id: str | None
    shipper: str
    status: ConsignmentStatus
    confirmed: bool


class RequestSummary(Struct, frozen=True, kw_only=True):
    request_id: str
    state: RequestState
    request_kind: RequestKind
    capability_area: CapabilityArea | None
    title: str | None
    urgency: Urgency | None
    priority_rank: int | None
    required_by: date | None
    requester: str
    updated_at: datetime
    totals: Totals
    traffic_type: TrafficType
    marking: Marking


class RequestAnswer(Struct, frozen=True, kw_only=True):
    summary: RequestSummary
    version: int
    requester_nation: str
    filed_at: datetime
    lines: tuple[RequestLineAnswer, ...]
    history: tuple[RequestHistory, ...]
    offers: tuple[OfferAnswer, ...]
    consignments: tuple[ConsignmentAnswer, ...]


class AreaTotals(Struct, frozen=True, kw_only=True):
    capability_area: CapabilityArea
    requests: int
    totals: Totals


class RequestList(Struct, frozen=True, kw_only=True):
    requests: tuple[RequestSummary, ...]
    areas: Annotated[
        tuple[AreaTotals, ...],
        Meta(description="Per capability area, summed over every visible match (not the page)"),
    ]
    total: Total
    truncated: Truncated


# --- tasking orders -----------------------------------------------------------------------


class TaskAnswer(Struct, frozen=True, kw_only=True):
    order_id: str
    task_id: str
    nation: str
    unit: str
    domain: TaskDomain
    task_type: TaskType
    purpose: str
    area: Area
    window: TimeWindow
    state: TaskState
    change: Annotated[int, Meta(description="0 as first issued, else the FRAGO that set it")]
    assignees: tuple[str, ...]
    ack_due: datetime
    updated_at: datetime
    reason: str
    progress_pct: int | None


class OrderHistory(Struct, frozen=True, kw_only=True):
    message_id: UUID
    action: str
    actor: str
    at: datetime
    change: int
    task_id: str | None
    to_state: TaskState | None
    note: str


class OrderAnswer(Struct, frozen=True, kw_only=True):
    order_id: str
    order_type: OrderType
    operation_name: str
    time_frame: TimeWindow
    mission: str
    change_number: int
    issuer: str
    tasks: tuple[TaskAnswer, ...]
    history: tuple[OrderHistory, ...]
    traffic_type: TrafficType
    marking: Marking


class TaskList(Struct, frozen=True, kw_only=True):
    tasks: tuple[TaskAnswer, ...]
    total: Total
    truncated: Truncated


# --- operations ---------------------------------------------------------------------------


class ViewsStatus(Struct, frozen=True, kw_only=True):
    """The views' state, reported by ``/readyz`` as information only."""

    state: Annotated[
        str,
        Meta(
            description="starting | ready | stale (serving the last complete state while a "
            "new session rebuilds it)"
        ),
    ]
    entries: dict[str, int]
    skipped: Annotated[int, Meta(description="Undecodable or over-capacity records")]
