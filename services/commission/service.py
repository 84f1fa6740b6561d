"""The commission service's decisions for one consumed record, as outputs: no Kafka here.

An accepted case action writes the case's new record to ``cell.state.cases`` and sends the
case as it now stands (``commission.case.v1``, under an id derived from case and version) to
the COMMISSION desks, so every member sees each accepted step; a refused one goes back to its
sender as ``ActionRejected`` naming the reason. A message id already in a
case's history is a replay and changes nothing. ``tick`` raises one REMEDY_OVERDUE escalation
per overdue remedy to COMMISSION and WATCH, recorded in the case so it is raised once.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import structs

from schemas import codec
from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.commission import CaseState
from schemas.kinds.commission_actions import CaseAction
from schemas.kinds.notifications import ActionRejected, Escalation, EscalationReason
from schemas.precedence import Precedence
from schemas.topics import state_topic
from services.commission.machine import OPEN_COMPLIANCE, Refused, Sender, decide, tag
from services.commission.state import CaseRecord, decode_record, encode_record
from services.runtime import ids
from services.runtime.deadletter import SourceRecord
from services.runtime.intake import foreign_kind
from services.runtime.logging import get_logger
from services.runtime.outbox import Output, ServiceDesk

log = get_logger(__name__)
SERVICE = "commission"
_REMEDY_STATES = frozenset({CaseState.REMEDIES_ISSUED, CaseState.COMPLIANCE_MONITORING})


class CommissionService:
    def __init__(self, desk: ServiceDesk, registry: DeskRegistry) -> None:
        self.desk, self.registry = desk, registry
        self.cases: dict[str, CaseRecord] = {}
        self.state_topic = state_topic("cases", prefix=desk.prefix)

    def load(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.cases.pop(key.decode(), None)
        else:
            record = decode_record(value)
            self.cases[record.case_id] = record

    def _snapshot(self, record: CaseRecord) -> Output:
        self.cases[record.case_id] = record
        return Output(
            topic=self.state_topic, key=record.case_id.encode(), value=encode_record(record)
        )

    def handle(self, record: SourceRecord, now: datetime) -> list[Output]:
        try:
            if record.value is None:
                raise codec.DecodeError("record has no value")  # noqa: TRY301 - one poison path
            envelope = codec.decode(record.value)
        except (codec.DecodeError, ValueError) as exc:
            log.warning(
                "record_dead_lettered",
                reason="undecodable",
                error=str(exc),
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            return [
                self.desk.dead_letter(record, reason="undecodable", error=str(exc), service=SERVICE)
            ]
        if (letter := foreign_kind(record, envelope, self.desk, service=SERVICE)) is not None:
            return [letter]
        if not isinstance(envelope.body, CaseAction):
            log.info("record_ignored", message_id=str(envelope.message_id), kind=envelope.kind)
            return []
        return self.handle_action(envelope, envelope.body, now)

    def handle_action(self, envelope: Envelope, action: CaseAction, now: datetime) -> list[Output]:
        current = self.cases.get(action.case_id)
        fields = {
            "message_id": str(envelope.message_id),
            "originator": envelope.originator,
            "case_id": action.case_id,
            "action": tag(action),
        }
        if current is not None and current.applied(envelope.message_id):
            log.info("case_action_duplicate", **fields)
            return []
        sender = Sender(
            desk_id=envelope.originator,
            message_id=envelope.message_id,
            label=envelope.label,
            traffic_type=envelope.traffic_type,
        )
        result = decide(
            current, action, sender=sender, registry=self.registry, now=now, lookup=self.cases.get
        )
        if isinstance(result, Refused):
            log.info("case_action_refused", code=result.code.value, reason=result.detail, **fields)
            return [self.desk.submit(self._rejection(envelope, action, result, now))]
        log.info(
            "case_action_accepted",
            state=result.case.state.value,
            version=result.case.version,
            **fields,
        )
        return [self._snapshot(result), self.desk.submit(self._publication(envelope, result, now))]

    def _publication(self, envelope: Envelope, record: CaseRecord, now: datetime) -> Envelope:
        case = record.case
        precedence = envelope.primary_precedence
        return self.desk.envelope(
            case,
            message_id=ids.message_id("case", f"{case.case_id}/{case.version}"),
            action_to=("COMMISSION",),
            label=record.label,
            subject=f"CASE {case.case_id} {case.state.value} v{case.version}",
            # The service desk holds no FLASH role; a case step is at most IMMEDIATE.
            precedence=Precedence.IMMEDIATE if precedence is Precedence.FLASH else precedence,
            traffic_type=record.traffic_type,
            now=now,
            in_reply_to=envelope.message_id,
            correlation_id=case.case_id,
        )

    def _rejection(
        self, envelope: Envelope, action: CaseAction, refused: Refused, now: datetime
    ) -> Envelope:
        body = ActionRejected(
            subject_message_id=envelope.message_id,
            code=refused.code,
            entity_id=action.case_id,
            current_state=refused.current_state.value if refused.current_state else None,
            detail=refused.detail[:1000],
            occurred_at=now,
        )
        return self.desk.envelope(
            body,
            message_id=ids.message_id("rejected", str(envelope.message_id)),
            action_to=(envelope.originator,),
            label=envelope.label,
            subject=f"{tag(action)} on {action.case_id} refused: {refused.code.value}",
            precedence=envelope.primary_precedence,
            traffic_type=envelope.traffic_type,
            now=now,
            in_reply_to=envelope.message_id,
            correlation_id=action.case_id,
        )

    def tick(self, now: datetime) -> list[Output]:
        """Escalate remedies past due and not complied with, once each."""
        outputs: list[Output] = []
        for record in list(self.cases.values()):
            case = record.case
            if case.state not in _REMEDY_STATES:
                continue
            overdue = [
                r
                for r in case.remedies
                if r.due_at < now
                and r.compliance in OPEN_COMPLIANCE
                and r.remedy_id not in record.overdue_alerted
            ]
            if not overdue:
                continue
            issued = next(h for h in reversed(record.history) if h.action == "ISSUE_REMEDIES")
            for remedy in overdue:
                body = Escalation(
                    subject_message_id=issued.message_id,
                    reason=EscalationReason.REMEDY_OVERDUE,
                    entity_id=case.case_id,
                    due_at=remedy.due_at,
                    detected_at=now,
                    detail=(
                        f"remedy {remedy.remedy_id} ({remedy.remedy_type.value}) addressed to "
                        f"{remedy.addressed_to} is {remedy.compliance.value} past its due date"
                    ),
                )
                envelope = self.desk.envelope(
                    body,
                    message_id=ids.message_id(
                        "remedy-overdue", f"{case.case_id}/{remedy.remedy_id}"
                    ),
                    action_to=("COMMISSION",),
                    info_to=("ROLE:WATCH",),
                    label=record.label,
                    subject=f"REMEDY OVERDUE {case.case_id}/{remedy.remedy_id}",
                    precedence=Precedence.PRIORITY,
                    traffic_type=record.traffic_type,
                    now=now,
                    correlation_id=case.case_id,
                )
                outputs.append(self.desk.submit(envelope))
                log.info("remedy_overdue", case_id=case.case_id, remedy_id=remedy.remedy_id)
            alerted = (*record.overdue_alerted, *(r.remedy_id for r in overdue))
            outputs.append(self._snapshot(structs.replace(record, overdue_alerted=alerted)))
        return outputs
