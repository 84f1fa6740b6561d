"""Filing and attack alerts: how a request enters, and the DEPOT_DRAW fast path.

- A ``SupportRequest`` needs a REQUESTER desk and a new request id. The service acknowledges
  receipt itself (SUBMITTED -> ACKNOWLEDGED); the cell (WATCH) then validates.
- A DEPOT_DRAW citing an attack alert that opens the fast path is validated and authorised
  by the service at once (VALIDATED -> AUTHORISED, no sourcing); one citing an alert not seen
  yet waits for it (alerts and requests travel on different partitions, so the alert may be
  read second); one citing an alert that does not authorise draws waits for the cell.
"""

from __future__ import annotations

from datetime import datetime

from schemas.desks import Desk
from schemas.envelope import Envelope
from schemas.kinds.alert import AttackAlert
from schemas.kinds.notifications import RejectionCode
from schemas.kinds.support import (
    RequestKind,
    RequestState,
    RequestStatus,
    SupportRequest,
)
from schemas.precedence import Precedence
from schemas.roles import Role
from services.support.state import (
    AlertRecord,
    HistoryEntry,
    RequestRecord,
)
from services.support.steps import Actor, Refused, step


def file(
    envelope: Envelope,
    request: SupportRequest,
    *,
    desk: Desk | None,
    service_desk: str,
    now: datetime,
    alert: AlertRecord | None,
) -> RequestRecord | Refused:
    if desk is None or Role.REQUESTER not in desk.roles:
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            detail=f"{envelope.originator} is not a requesting desk; only REQUESTER desks file",
        )
    draw = request.request_kind is RequestKind.DEPOT_DRAW
    status = RequestStatus(
        request_id=request.request_id,
        version=1,
        state=RequestState.SUBMITTED,
        request_kind=request.request_kind,
        request=request,
        updated_at=now,
        note=f"filed by {envelope.originator}",
    )
    filed = RequestRecord(
        status=status,
        requester=envelope.originator,
        requester_nation=desk.nation,
        label=envelope.label,
        traffic_type=envelope.traffic_type,
        precedence=Precedence.FLASH if draw else envelope.primary_precedence,
        filed_message_id=envelope.message_id,
        filed_at=now,
        history=(
            HistoryEntry(
                message_id=envelope.message_id,
                action="FILE",
                actor=envelope.originator,
                at=now,
                from_state=None,
                to_state=RequestState.SUBMITTED,
                version=1,
            ),
        ),
    )
    return acknowledge(filed, service_desk=service_desk, now=now, alert=alert)


def acknowledge(
    record: RequestRecord, *, service_desk: str, now: datetime, alert: AlertRecord | None
) -> RequestRecord:
    """The service's receipt of a (re)submitted request, then the fast path if it applies."""
    me = Actor(desk_id=service_desk, message_id=record.history[-1].message_id)
    cited = record.request.activating_alert
    if cited is None:
        return step(
            record,
            actor=me,
            action="ACKNOWLEDGE",
            to_state=RequestState.ACKNOWLEDGED,
            now=now,
            note="received; awaiting the cell's validation",
        )
    if alert is None:
        return step(
            record,
            actor=me,
            action="ACKNOWLEDGE",
            to_state=RequestState.ACKNOWLEDGED,
            now=now,
            note=f"depot draw waiting for attack alert {cited}",
            awaiting_alert=cited,
        )
    acked = step(
        record,
        actor=me,
        action="ACKNOWLEDGE",
        to_state=RequestState.ACKNOWLEDGED,
        now=now,
        note=f"depot draw under attack alert {alert.alert_id}",
    )
    return fast_path(acked, alert, service_desk=service_desk, now=now)


def fast_path(
    record: RequestRecord, alert: AlertRecord, *, service_desk: str, now: datetime
) -> RequestRecord:
    """ACKNOWLEDGED -> VALIDATED -> AUTHORISED on the alert's authority, or wait for the cell."""
    me = Actor(desk_id=service_desk, message_id=record.history[-1].message_id)
    if not alert.opens_fast_path:
        return step(
            record,
            actor=me,
            action="ACKNOWLEDGE",
            to_state=RequestState.ACKNOWLEDGED,
            now=now,
            note=f"attack alert {alert.alert_id} does not authorise depot draws "
            f"({alert.status.value}); awaiting the cell's validation",
        )
    authority = f"attack alert {alert.alert_id} from {alert.originator}"
    valid = step(
        record,
        actor=me,
        action="VALIDATE",
        to_state=RequestState.VALIDATED,
        now=now,
        note=f"validated on the fast path: {authority}",
    )
    return step(
        valid,
        actor=me,
        action="AUTHORISE_DRAW",
        to_state=RequestState.AUTHORISED,
        now=now,
        note=f"draw on {record.request.depot} authorised by {authority}",
    )


def alert_update(
    current: AlertRecord | None, envelope: Envelope, alert: AttackAlert, now: datetime
) -> AlertRecord:
    ids = current.message_ids if current is not None else ()
    return AlertRecord(
        alert_id=alert.alert_id,
        message_ids=(*ids, envelope.message_id)[-50:],
        status=alert.status,
        depot_draw_authorised=alert.depot_draw_authorised,
        originator=envelope.originator,
        updated_at=now,
    )
