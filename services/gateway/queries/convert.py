"""State records of the domain services to query answers. Pure functions.

Each record type belongs to its service (``services.<name>.state`` / ``records``); only the
fields a desk may be shown are carried over: no idempotency logs beyond the history the
issue asks for, no member observations of an incident (a count instead), no alert marks.
"""

from __future__ import annotations

from schemas.kinds.support import TERMINAL_REQUEST_STATES
from schemas.labels import display_marking
from services.commission.state import CaseRecord
from services.gateway.queries.answers import (
    CaseAnswer,
    CaseHistory,
    CasePosition,
    CaseSummary,
    ConsignmentAnswer,
    IncidentAnswer,
    OfferAnswer,
    OrderAnswer,
    OrderHistory,
    RequestAnswer,
    RequestHistory,
    RequestLineAnswer,
    RequestSummary,
    TaskAnswer,
    Totals,
)
from services.monitoring.records import IncidentRecord
from services.support.state import RequestRecord
from services.tasking.state import OrderRecord, TaskRecord


def incident_answer(record: IncidentRecord) -> IncidentAnswer:
    incident = record.incident
    return IncidentAnswer(
        incident_id=incident.incident_id,
        status=incident.status,
        event_type=incident.event_type,
        severity=incident.severity,
        location=incident.location,
        radius_m=incident.radius_m,
        window=incident.window,
        corroboration_count=incident.corroboration_count,
        observation_count=len(incident.observations),
        casualties=incident.casualties,
        referred_case_id=incident.referred_case_id,
        breach_rules=record.breach_rules,
        withdrawal_zone=record.withdrawal_zone,
        assessment=incident.assessment,
        traffic_type=record.traffic_type,
        marking=display_marking(record.label),
    )


def case_answer(record: CaseRecord) -> CaseAnswer:
    return CaseAnswer(
        case=record.case,
        history=tuple(
            CaseHistory(
                message_id=entry.message_id,
                action=entry.action,
                actor=entry.actor,
                at=entry.at,
                from_state=entry.from_state,
                to_state=entry.to_state,
                version=entry.version,
                rationale=entry.rationale,
            )
            for entry in record.history
        ),
        positions=tuple(
            CasePosition(
                member=p.member,
                position=p.position,
                statement=p.statement,
                at=p.at,
                version=p.version,
            )
            for p in sorted(record.positions, key=lambda p: p.member)
        ),
        traffic_type=record.traffic_type,
        marking=display_marking(record.label),
    )


def case_summary(answer: CaseAnswer) -> CaseSummary:
    case = answer.case
    return CaseSummary(
        case_id=case.case_id,
        state=case.state,
        version=case.version,
        title=case.title,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        incident_ids=case.incident_ids,
        respondents=case.respondents,
        traffic_type=answer.traffic_type,
        marking=answer.marking,
    )


def request_is_open(record: RequestRecord) -> bool:
    return record.state not in TERMINAL_REQUEST_STATES


def sum_totals(totals: list[Totals]) -> Totals:
    return Totals(
        requested=sum(t.requested for t in totals),
        offered=sum(t.offered for t in totals),
        committed=sum(t.committed for t in totals),
        delivered=sum(t.delivered for t in totals),
    )


def request_answer(record: RequestRecord) -> RequestAnswer:
    status = record.status
    body = status.request
    items = {line.line_no: line for line in body.lines} if body is not None else {}
    lines = tuple(
        RequestLineAnswer(
            line_no=line.line_no,
            item=items[line.line_no].item if line.line_no in items else None,
            unit=items[line.line_no].unit if line.line_no in items else None,
            requested=line.requested,
            offered=line.pledged,
            committed=line.committed,
            delivered=line.delivered,
        )
        for line in status.lines
    )
    totals = sum_totals(
        [
            Totals(
                requested=line.requested,
                offered=line.offered,
                committed=line.committed,
                delivered=line.delivered,
            )
            for line in lines
        ]
    )
    summary = RequestSummary(
        request_id=status.request_id,
        state=status.state,
        request_kind=status.request_kind,
        capability_area=body.capability_area if body is not None else None,
        title=body.title if body is not None else None,
        urgency=body.urgency if body is not None else None,
        priority_rank=body.priority_rank if body is not None else None,
        required_by=body.required_by if body is not None else None,
        requester=record.requester,
        updated_at=status.updated_at,
        totals=totals,
        traffic_type=record.traffic_type,
        marking=display_marking(record.label),
    )
    return RequestAnswer(
        summary=summary,
        version=status.version,
        requester_nation=record.requester_nation,
        filed_at=record.filed_at,
        lines=lines,
        history=tuple(
            RequestHistory(
                message_id=h.message_id,
                action=h.action,
                actor=h.actor,
                at=h.at,
                from_state=h.from_state,
                to_state=h.to_state,
                version=h.version,
                note=h.note,
            )
            for h in record.history
        ),
        offers=tuple(
            OfferAnswer(
                offer_id=o.offer_id,
                donor=o.donor,
                commitment=o.commitment,
                state=o.state.value,
                revision=o.revision,
            )
            for o in record.offers
        ),
        consignments=tuple(
            ConsignmentAnswer(
                consignment_id=c.consignment_id,
                offer_id=c.offer_id,
                shipper=c.shipper,
                status=c.status,
                confirmed=c.confirmed,
            )
            for c in record.consignments
        ),
    )


def _task_answer(order_id: str, record: TaskRecord) -> TaskAnswer:
    task = record.task
    return TaskAnswer(
        order_id=order_id,
        task_id=task.task_id,
        nation=task.nation,
        unit=task.unit,
        domain=task.domain,
        task_type=task.task_type,
        purpose=task.purpose,
        area=task.area,
        window=task.window,
        state=record.state,
        change=record.change,
        assignees=record.assignees,
        ack_due=record.ack_due,
        updated_at=record.updated_at,
        reason=record.reason,
        progress_pct=record.progress_pct,
    )


def order_answer(record: OrderRecord) -> OrderAnswer:
    order = record.order
    return OrderAnswer(
        order_id=order.order_id,
        order_type=order.order_type,
        operation_name=order.operation_name,
        time_frame=order.time_frame,
        mission=order.mission,
        change_number=record.change_number,
        issuer=record.issuer,
        tasks=tuple(
            _task_answer(order.order_id, t) for t in sorted(record.tasks, key=lambda t: t.task_id)
        ),
        history=tuple(
            OrderHistory(
                message_id=h.message_id,
                action=h.action,
                actor=h.actor,
                at=h.at,
                change=h.change,
                task_id=h.task_id,
                to_state=h.to_state,
                note=h.note,
            )
            for h in record.history
        ),
        traffic_type=record.traffic_type,
        marking=display_marking(record.label),
    )
