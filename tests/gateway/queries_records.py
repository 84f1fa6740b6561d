"""State records as the domain services write them, for the gateway query tests.

Built from the services' own record types (``services.<name>.state`` / ``records``) with
realistic content, and encoded with the services' own ``encode_record``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from schemas.common import Area, Position, TimeWindow, TrafficType
from schemas.kinds.commission import BreachCase, CaseState
from schemas.kinds.monitoring import (
    Casualties,
    EventType,
    Incident,
    IncidentStatus,
    ObservationRef,
    Severity,
    WeaponCategory,
)
from schemas.kinds.support import (
    CapabilityArea,
    DeliveryPoint,
    LineProgress,
    RequestKind,
    RequestLine,
    RequestState,
    RequestStatus,
    SupportRequest,
    Urgency,
)
from schemas.kinds.tasking import OrderType, Task, TaskDomain, TaskingOrder, TaskState, TaskType
from schemas.labels import Classification, Policy, SecurityLabel
from schemas.precedence import Precedence
from services.commission.state import CaseRecord, HistoryEntry, MemberPosition
from services.monitoring.records import IncidentRecord, Member
from services.support import state as support
from services.tasking import state as tasking

T0 = datetime(2026, 3, 14, 6, 0, tzinfo=UTC)
ALL_REL = ("FRA", "NLD", "UKR", "USA")


def label(
    classification: Classification = Classification.NATO_RESTRICTED,
    rel: tuple[str, ...] = ALL_REL,
    categories: tuple[str, ...] = (),
) -> SecurityLabel:
    return SecurityLabel(
        policy=Policy.NATO,
        classification=classification,
        releasable_to=rel,
        restrictive_categories=categories,
        created_at=T0,
    )


def incident(
    incident_id: str,
    *,
    lat: float,
    lon: float,
    start: datetime,
    minutes: int = 10,
    sec: SecurityLabel | None = None,
    traffic: TrafficType = TrafficType.OPERATION,
    status: IncidentStatus = IncidentStatus.CONFIRMED,
    corroboration: int = 1,
) -> IncidentRecord:
    end = start + timedelta(minutes=minutes)
    report = uuid.uuid5(uuid.NAMESPACE_URL, incident_id)
    refs = tuple(
        ObservationRef(report_message_id=report, observation_id=f"obs-{n}")
        for n in range(corroboration)
    )
    members = tuple(
        Member(
            report_message_id=report,
            observation_id=f"obs-{n}",
            report_id=f"rep-{incident_id}",
            originator="fra.cell",
            observer=f"fra.cell/team-{n}",
            traffic_type=traffic,
            event_type=EventType.IMPACT,
            weapon=WeaponCategory.ARTILLERY_100MM_PLUS,
            lat=lat,
            lon=lon,
            uncertainty_m=150.0,
            start=start,
            end=end,
            source_zone="Europe/Kyiv",
        )
        for n in range(corroboration)
    )
    body = Incident(
        incident_id=incident_id,
        status=status,
        event_type=EventType.IMPACT,
        location=Position(lat=lat, lon=lon, precision_m=150.0),
        radius_m=500.0,
        window=TimeWindow(start=start, end=end, original_tz="Europe/Kyiv"),
        observations=refs,
        corroboration_count=corroboration,
        severity=Severity.HIGH,
        casualties=Casualties(civilian_injured=2),
        assessment="Impact of 152 mm artillery near the contact line.",
    )
    return IncidentRecord(
        incident=body,
        traffic_type=traffic,
        label=sec or label(),
        members=members,
        breach_rules=("heavy-artillery-in-zone",),
        withdrawal_zone="zone-donetsk-north",
    )


_CASE_PATH = (
    ("OPEN", None, CaseState.ALLEGED),
    ("ADMIT", CaseState.ALLEGED, CaseState.PRELIMINARY_REVIEW),
    ("INVESTIGATE", CaseState.PRELIMINARY_REVIEW, CaseState.UNDER_INVESTIGATION),
    ("DRAFT_FINDINGS", CaseState.UNDER_INVESTIGATION, CaseState.FINDINGS_DRAFTED),
)


def case(
    case_id: str,
    *,
    steps: int = 1,
    sec: SecurityLabel | None = None,
    traffic: TrafficType = TrafficType.OPERATION,
    opened: datetime = T0,
) -> CaseRecord:
    """A case after ``steps`` accepted actions along the usual path."""
    history = tuple(
        HistoryEntry(
            message_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{case_id}/{n}"),
            action=action,
            actor="svc.monitoring" if n == 0 else "fra.commission",
            at=opened + timedelta(hours=n),
            from_state=from_state,
            to_state=to_state,
            version=n + 1,
            rationale="" if n == 0 else f"step {n}",
        )
        for n, (action, from_state, to_state) in enumerate(_CASE_PATH[:steps])
    )
    last = history[-1]
    body = BreachCase(
        case_id=case_id,
        version=last.version,
        state=last.to_state,
        title=f"Artillery impact, case {case_id}",
        incident_ids=("inc-0001",),
        alleged_by="UKR",
        respondents=("RUS",),
        opened_at=opened,
        updated_at=last.at,
    )
    positions = tuple(
        MemberPosition(
            member=member,
            position="INVESTIGATE",
            statement="Evidence warrants an investigation.",
            at=last.at,
            version=last.version,
        )
        for member in ("usa.commission", "fra.commission")
    )
    return CaseRecord(
        case=body,
        label=sec or label(),
        traffic_type=traffic,
        history=history,
        positions=positions if steps > 2 else (),
    )


def request(
    request_id: str,
    *,
    area: CapabilityArea,
    state: RequestState = RequestState.SOURCING,
    lines: tuple[tuple[int, int, int, int], ...] = ((100, 40, 0, 0),),
    rank: int = 10,
    sec: SecurityLabel | None = None,
) -> support.RequestRecord:
    """``lines``: (requested, pledged, committed, delivered) per line."""
    body = SupportRequest(
        request_id=request_id,
        request_kind=RequestKind.MATERIEL,
        capability_area=area,
        title=f"{area.value.title()} resupply {request_id}",
        lines=tuple(
            RequestLine(line_no=n + 1, item=f"Item {n + 1}", quantity=line[0], unit="EA")
            for n, line in enumerate(lines)
        ),
        justification="Sustain the units holding the line through the winter.",
        priority_rank=rank,
        urgency=Urgency.URGENT,
        required_by=date(2026, 4, 30),
        delivery_point=DeliveryPoint(name="Rzeszow logistics hub"),
    )
    status = RequestStatus(
        request_id=request_id,
        version=2,
        state=state,
        request_kind=RequestKind.MATERIEL,
        request=body,
        lines=tuple(
            LineProgress(
                line_no=n + 1, requested=req, pledged=pledged, committed=committed, delivered=done
            )
            for n, (req, pledged, committed, done) in enumerate(lines)
        ),
        updated_at=T0 + timedelta(hours=2),
    )
    filed = uuid.uuid5(uuid.NAMESPACE_URL, request_id)
    history = (
        support.HistoryEntry(
            message_id=filed,
            action="FILE",
            actor="ukr.gs",
            at=T0,
            from_state=None,
            to_state=RequestState.SUBMITTED,
            version=1,
        ),
        support.HistoryEntry(
            message_id=uuid.uuid5(uuid.NAMESPACE_URL, request_id + "/2"),
            action="VALIDATE",
            actor="fra.cell",
            at=T0 + timedelta(hours=2),
            from_state=RequestState.SUBMITTED,
            to_state=state,
            version=2,
        ),
    )
    return support.RequestRecord(
        status=status,
        requester="ukr.gs",
        requester_nation="UKR",
        label=sec or label(),
        traffic_type=TrafficType.OPERATION,
        precedence=Precedence.PRIORITY,
        filed_message_id=filed,
        filed_at=T0,
        history=history,
    )


def order(
    order_id: str,
    tasks: tuple[tuple[str, str, TaskDomain, TaskState], ...],
    *,
    sec: SecurityLabel | None = None,
) -> tasking.OrderRecord:
    """``tasks``: (task id, nation, domain, state)."""
    window = TimeWindow(start=T0, end=T0 + timedelta(days=7))
    bodies = {
        task_id: Task(
            task_id=task_id,
            nation=nation,
            unit=f"{nation} unit",
            domain=domain,
            task_type=TaskType.PRESENCE_PATROL,
            purpose="Deter and reassure",
            area=Area(name="Odesa approaches", centre=Position(lat=46.4, lon=30.7), radius_m=5e4),
            window=window,
        )
        for task_id, nation, domain, _ in tasks
    }
    body = TaskingOrder(
        order_id=order_id,
        order_type=OrderType.OPORD,
        operation_name="STEADFAST GUARD",
        time_frame=window,
        mission="Reassurance presence in the western Black Sea.",
        tasks=tuple(bodies.values()),
    )
    issued = uuid.uuid5(uuid.NAMESPACE_URL, order_id)
    return tasking.OrderRecord(
        order=body,
        issuer="cell.mnf-hq",
        label=sec or label(),
        traffic_type=TrafficType.OPERATION,
        precedence=Precedence.PRIORITY,
        tasks=tuple(
            tasking.TaskRecord(
                task=bodies[task_id],
                change=0,
                source_message_id=issued,
                state=state,
                assignees=(f"{nation.lower()}.desk",),
                ack_due=T0 + timedelta(hours=1),
                updated_at=T0 + timedelta(minutes=30),
                reason="No suitable unit available." if state is TaskState.CANNOT_COMPLY else "",
            )
            for task_id, nation, _, state in tasks
        ),
        history=(
            tasking.HistoryEntry(
                message_id=issued, action="ORDER", actor="cell.mnf-hq", at=T0, change=0
            ),
        ),
    )
