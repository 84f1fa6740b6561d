"""The support service's decisions for one consumed record, as outputs: no Kafka here.

An accepted change writes the request's new record to ``cell.state.requests`` and sends its
``RequestStatus`` as the service desk: action to the requester, info to every donor that
offered or shipped (and, when sourcing starts, to the desks solicited), so each party is told
at each step. DEPOT_DRAW traffic goes at FLASH. A refusal goes back to its sender as
``ActionRejected`` naming the reason. A message id already in a request's history (or an
alert's) is a replay and changes nothing; every message sent has a derived id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.alert import AttackAlert
from schemas.kinds.notifications import RejectionCode
from schemas.kinds.support import Consignment, Offer, RequestKind, RequestState, SupportRequest
from schemas.kinds.support_actions import RequestAction
from schemas.precedence import Precedence
from schemas.topics import state_topic
from services.runtime import ids
from services.runtime.deadletter import SourceRecord
from services.runtime.intake import foreign_kind, open_record, rejection
from services.runtime.logging import get_logger
from services.runtime.outbox import Output, ServiceDesk
from services.support import intake, machine, offers
from services.support.state import (
    AlertRecord,
    RequestRecord,
    StateRecord,
    decode_record,
    encode_record,
    state_key,
)
from services.support.steps import Actor, Refused, step

log = get_logger(__name__)
SERVICE = "support"


class SupportService:
    def __init__(self, desk: ServiceDesk, registry: DeskRegistry, *, alert_wait: timedelta) -> None:
        self.desk, self.registry, self.alert_wait = desk, registry, alert_wait
        self.requests: dict[str, RequestRecord] = {}
        self.alerts: dict[str, AlertRecord] = {}
        self.alert_by_message: dict[UUID, str] = {}
        self.state_topic = state_topic("requests", prefix=desk.prefix)

    # --- state ----------------------------------------------------------------------------

    def load(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.requests.pop(key.decode(), None)
            return
        self._remember(decode_record(value))

    def _remember(self, record: StateRecord) -> None:
        if isinstance(record, AlertRecord):
            self.alerts[record.alert_id] = record
            self.alert_by_message.update(dict.fromkeys(record.message_ids, record.alert_id))
        else:
            self.requests[record.request_id] = record

    def _snapshot(self, record: StateRecord) -> Output:
        self._remember(record)
        return Output(topic=self.state_topic, key=state_key(record), value=encode_record(record))

    def _alert_for(self, message_id: UUID | None) -> AlertRecord | None:
        alert_id = self.alert_by_message.get(message_id) if message_id else None
        return self.alerts.get(alert_id) if alert_id else None

    # --- records --------------------------------------------------------------------------

    def handle(self, record: SourceRecord, now: datetime) -> list[Output]:
        opened = open_record(record, self.desk, service=SERVICE)
        if isinstance(opened, Output):
            return [opened]
        envelope, body = opened, opened.body
        if envelope.originator == self.desk.desk_id:
            log.info("record_ignored", message_id=str(envelope.message_id), reason="own message")
            return []
        if (letter := foreign_kind(record, envelope, self.desk, service=SERVICE)) is not None:
            return [letter]
        if isinstance(body, AttackAlert):
            return self.handle_alert(envelope, body, now)
        if isinstance(body, SupportRequest | Offer | Consignment | RequestAction):
            return self.handle_request_message(envelope, body, now)
        log.info("record_ignored", message_id=str(envelope.message_id), kind=envelope.kind)
        return []

    def handle_request_message(
        self,
        envelope: Envelope,
        body: SupportRequest | Offer | Consignment | RequestAction,
        now: datetime,
    ) -> list[Output]:
        current = self.requests.get(body.request_id)
        fields = {
            "message_id": str(envelope.message_id),
            "originator": envelope.originator,
            "request_id": body.request_id,
            "kind": envelope.kind,
        }
        if current is not None and current.applied(envelope.message_id):
            log.info("request_message_duplicate", **fields)
            return []
        result = self._decide(current, envelope, body, now)
        if isinstance(result, Refused):
            log.info(
                "request_change_refused", code=result.code.value, reason=result.detail, **fields
            )
            return [self._refuse(envelope, body.request_id, result, now)]
        log.info(
            "request_change_accepted",
            state=result.state.value,
            version=result.status.version,
            **fields,
        )
        return self._publish(result, now)

    def _decide(  # noqa: PLR0911 - one return per message kind and rule
        self,
        current: RequestRecord | None,
        envelope: Envelope,
        body: SupportRequest | Offer | Consignment | RequestAction,
        now: datetime,
    ) -> RequestRecord | Refused:
        desk = self.registry.get(envelope.originator)
        if isinstance(body, SupportRequest):
            if current is not None:
                return Refused(
                    code=RejectionCode.DUPLICATE_ENTITY,
                    current_state=current.state,
                    detail=f"request {body.request_id} is already filed",
                )
            return intake.file(
                envelope,
                body,
                desk=desk,
                service_desk=self.desk.desk_id,
                now=now,
                alert=self._alert_for(body.activating_alert),
            )
        if current is None:
            return Refused(
                code=RejectionCode.UNKNOWN_ENTITY, detail=f"no request {body.request_id}"
            )
        if isinstance(body, Offer):
            return offers.offer(current, envelope, body, desk=desk, now=now)
        if isinstance(body, Consignment):
            return offers.consignment(current, envelope, body, now=now)
        actor = Actor(desk_id=envelope.originator, message_id=envelope.message_id)
        result = machine.decide(
            current, body, actor=actor, desk=desk, now=now, lookup=self.requests.get
        )
        if not isinstance(result, Refused) and result.state is RequestState.SUBMITTED:
            # Answered clarification: the service acknowledges the resubmission itself.
            alert = self._alert_for(result.request.activating_alert)
            return intake.acknowledge(result, service_desk=self.desk.desk_id, now=now, alert=alert)
        return result

    def handle_alert(self, envelope: Envelope, alert: AttackAlert, now: datetime) -> list[Output]:
        current = self.alerts.get(alert.alert_id)
        if current is not None and envelope.message_id in current.message_ids:
            log.info("attack_alert_duplicate", message_id=str(envelope.message_id))
            return []
        updated = intake.alert_update(current, envelope, alert, now)
        outputs = [self._snapshot(updated)]
        released = []
        for record in list(self.requests.values()):
            if record.awaiting_alert is not None and record.awaiting_alert in updated.message_ids:
                drawn = intake.fast_path(record, updated, service_desk=self.desk.desk_id, now=now)
                outputs += self._publish(drawn, now)
                released.append(record.request_id)
        log.info(
            "attack_alert_recorded",
            message_id=str(envelope.message_id),
            originator=envelope.originator,
            alert_id=alert.alert_id,
            status=alert.status.value,
            fast_path=updated.opens_fast_path,
            released=released,
        )
        return outputs

    # --- periodic -------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Output]:
        """Lapse expired offers; stop waiting for an alert that never came."""
        outputs: list[Output] = []
        for record in list(self.requests.values()):
            changed = offers.lapse(record, service_desk=self.desk.desk_id, now=now)
            if record.awaiting_alert is not None and record.filed_at + self.alert_wait <= now:
                me = Actor(desk_id=self.desk.desk_id, message_id=record.history[-1].message_id)
                changed = step(
                    changed or record,
                    actor=me,
                    action="ALERT_WAIT_ENDED",
                    to_state=record.state,
                    now=now,
                    note=f"attack alert {record.awaiting_alert} not seen within "
                    f"{self.alert_wait}; awaiting the cell's validation",
                )
            if changed is not None:
                log.info(
                    "request_housekeeping", request_id=record.request_id, note=changed.status.note
                )
                outputs += self._publish(changed, now)
        return outputs

    # --- outputs --------------------------------------------------------------------------

    def _publish(self, record: RequestRecord, now: datetime) -> list[Output]:
        status = record.status
        donors = [o.donor for o in record.offers] + [c.shipper for c in record.consignments]
        info = list(donors)
        if record.history[-1].action == "START_SOURCING":
            info += record.solicited
        draw = status.request_kind is RequestKind.DEPOT_DRAW
        if draw:
            info.append("ROLE:WATCH")
        envelope = self.desk.envelope(
            status,
            message_id=ids.message_id("support-status", f"{status.request_id}/{status.version}"),
            action_to=(record.requester,),
            info_to=[a for a in info if a != self.desk.desk_id],
            label=record.label,
            subject=f"REQUEST {status.request_id} {status.state.value} v{status.version}",
            precedence=Precedence.FLASH if draw else record.precedence,
            traffic_type=record.traffic_type,
            now=now,
            references=[record.filed_message_id],
            correlation_id=status.request_id,
        )
        return [self._snapshot(record), self.desk.submit(envelope)]

    def _refuse(
        self, envelope: Envelope, request_id: str, refused: Refused, now: datetime
    ) -> Output:
        return rejection(
            self.desk,
            envelope,
            code=refused.code,
            detail=refused.detail,
            entity_id=request_id,
            current_state=refused.current_state.value if refused.current_state else None,
            subject=f"{envelope.kind} on {request_id} refused: {refused.code.value}",
            now=now,
        )
