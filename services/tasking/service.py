"""The tasking service's decisions for one consumed record, as outputs: no Kafka here.

Orders, FRAGOs and task status change the order's record on ``cell.state.orders``; SITREPs
are recorded under their order, or under their unit when they name none. A refusal goes back
to its sender as ``ActionRejected`` naming the reason. ``tick`` raises, once per task version,
an ACK_OVERDUE escalation for a task still unacknowledged past its deadline and a
TASK_OVERDUE one for a task still open past the end of its window, both to the issuing
FORCE_HQ desk and WATCH. A message id already applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from msgspec import structs

from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.notifications import Escalation, EscalationReason, RejectionCode
from schemas.kinds.tasking import OrderType, SitRep, TaskingOrder, TaskState, TaskStatus
from schemas.topics import state_topic
from services.runtime import ids
from services.runtime.deadletter import SourceRecord
from services.runtime.intake import foreign_kind, open_record, rejection
from services.runtime.logging import get_logger
from services.runtime.outbox import Output, ServiceDesk
from services.tasking import orders
from services.tasking.orders import Refused
from services.tasking.state import (
    UNIT_KEY_PREFIX,
    HistoryEntry,
    OrderRecord,
    SitrepEntry,
    StateRecord,
    TaskRecord,
    UnitRecord,
    decode_record,
    encode_record,
    keep_sitreps,
    state_key,
)

log = get_logger(__name__)
SERVICE = "tasking"
OPEN_WORK = frozenset(
    {TaskState.RECEIVED, TaskState.ACKNOWLEDGED, TaskState.WILL_COMPLY, TaskState.IN_PROGRESS}
    | {TaskState.PAUSED}
)


class TaskingService:
    def __init__(self, desk: ServiceDesk, registry: DeskRegistry, *, ack_window: timedelta) -> None:
        self.desk, self.registry, self.ack_window = desk, registry, ack_window
        self.orders: dict[str, OrderRecord] = {}
        self.units: dict[str, UnitRecord] = {}
        self.state_topic = state_topic("orders", prefix=desk.prefix)

    def load(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            name = key.decode()
            (self.units if name.startswith(UNIT_KEY_PREFIX) else self.orders).pop(name, None)
            return
        self._remember(decode_record(value))

    def _remember(self, record: StateRecord) -> None:
        if isinstance(record, UnitRecord):
            self.units[record.key] = record
        else:
            self.orders[record.order_id] = record

    def _snapshot(self, record: StateRecord) -> Output:
        self._remember(record)
        return Output(topic=self.state_topic, key=state_key(record), value=encode_record(record))

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
        if isinstance(body, TaskingOrder | TaskStatus | SitRep):
            return self.handle_message(envelope, body, now)
        log.info("record_ignored", message_id=str(envelope.message_id), kind=envelope.kind)
        return []

    def handle_message(
        self, envelope: Envelope, body: TaskingOrder | TaskStatus | SitRep, now: datetime
    ) -> list[Output]:
        order_id = _order_id(body)
        current = self.orders.get(order_id) if order_id else None
        fields = {
            "message_id": str(envelope.message_id),
            "originator": envelope.originator,
            "order_id": order_id,
            "kind": envelope.kind,
        }
        if isinstance(body, SitRep) and order_id is None:
            return self._unit_sitrep(envelope, body, now, fields)
        if current is not None and current.applied(envelope.message_id):
            log.info("tasking_message_duplicate", **fields)
            return []
        result = self._decide(current, envelope, body, now)
        if isinstance(result, Refused):
            log.info(
                "tasking_message_refused", code=result.code.value, reason=result.detail, **fields
            )
            return [self._refuse(envelope, order_id, result, now)]
        log.info(
            "tasking_message_accepted",
            change=result.change_number,
            tasks={t.task_id: t.state.value for t in result.tasks},
            **fields,
        )
        return [self._snapshot(result)]

    def _decide(  # noqa: PLR0911 - one return per message kind and rule
        self,
        current: OrderRecord | None,
        envelope: Envelope,
        body: TaskingOrder | TaskStatus | SitRep,
        now: datetime,
    ) -> OrderRecord | Refused:
        desk = self.registry.get(envelope.originator)
        window = self.ack_window
        if isinstance(body, TaskingOrder) and body.order_type is not OrderType.FRAGO:
            if current is not None:
                return Refused(
                    code=RejectionCode.DUPLICATE_ENTITY,
                    detail=f"order {body.order_id} is already issued",
                )
            return orders.issue(
                envelope, body, desk=desk, registry=self.registry, now=now, ack_window=window
            )
        if current is None:
            return Refused(code=RejectionCode.UNKNOWN_ENTITY, detail=f"no order {_order_id(body)}")
        if isinstance(body, TaskingOrder):
            return orders.frago(
                current,
                envelope,
                body,
                desk=desk,
                registry=self.registry,
                now=now,
                ack_window=window,
            )
        if isinstance(body, TaskStatus):
            return orders.report(current, envelope, body, desk=desk, now=now)
        if desk is None or desk.nation != body.nation:
            return Refused(
                code=RejectionCode.NOT_AUTHORISED,
                detail=f"{envelope.originator} reports for {body.nation} units "
                "only as a desk of that nation",
            )
        entry = SitrepEntry(
            message_id=envelope.message_id,
            originator=envelope.originator,
            received_at=now,
            sitrep=body,
        )
        history = (
            *current.history,
            HistoryEntry(
                message_id=envelope.message_id,
                action="SITREP",
                actor=envelope.originator,
                at=now,
                change=current.change_number,
                note=f"{body.unit}: {body.readiness.value}",
            ),
        )
        return structs.replace(
            current, sitreps=keep_sitreps((*current.sitreps, entry)), history=history
        )

    def _unit_sitrep(
        self, envelope: Envelope, sitrep: SitRep, now: datetime, fields: Mapping[str, object]
    ) -> list[Output]:
        desk = self.registry.get(envelope.originator)
        if desk is None or desk.nation != sitrep.nation:
            refused = Refused(
                code=RejectionCode.NOT_AUTHORISED,
                detail=f"{envelope.originator} reports for {sitrep.nation} units "
                "only as a desk of that nation",
            )
            log.info(
                "tasking_message_refused", code=refused.code.value, reason=refused.detail, **fields
            )
            return [self._refuse(envelope, None, refused, now)]
        key = f"{UNIT_KEY_PREFIX}{sitrep.nation}/{sitrep.unit}"
        unit = self.units.get(key) or UnitRecord(nation=sitrep.nation, unit=sitrep.unit, sitreps=())
        if any(e.message_id == envelope.message_id for e in unit.sitreps):
            log.info("tasking_message_duplicate", **fields)
            return []
        entry = SitrepEntry(
            message_id=envelope.message_id,
            originator=envelope.originator,
            received_at=now,
            sitrep=sitrep,
        )
        updated = structs.replace(unit, sitreps=keep_sitreps((*unit.sitreps, entry)))
        log.info("sitrep_recorded", unit=sitrep.unit, readiness=sitrep.readiness.value, **fields)
        return [self._snapshot(updated)]

    def _refuse(
        self, envelope: Envelope, entity_id: str | None, refused: Refused, now: datetime
    ) -> Output:
        return rejection(
            self.desk,
            envelope,
            code=refused.code,
            detail=refused.detail,
            entity_id=entity_id,
            current_state=refused.current_state,
            subject=f"{envelope.kind} refused: {refused.code.value}",
            now=now,
        )

    # --- periodic -------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Output]:
        outputs: list[Output] = []
        for record in list(self.orders.values()):
            tasks, raised = [], []
            for task in record.tasks:
                alerts = []
                if task.state is TaskState.RECEIVED and task.ack_due <= now:
                    alerts.append(
                        (f"ack:{task.change}", EscalationReason.ACK_OVERDUE, task.ack_due)
                    )
                if task.state in OPEN_WORK and task.task.window.end <= now:
                    alerts.append(
                        (f"done:{task.change}", EscalationReason.TASK_OVERDUE, task.task.window.end)
                    )
                fresh = [a for a in alerts if a[0] not in task.alerted]
                for mark, reason, due in fresh:
                    outputs.append(
                        self._escalate(record, task, mark=mark, reason=reason, due=due, now=now)
                    )
                    raised.append(f"{task.task_id}/{mark}")
                tasks.append(structs.replace(task, alerted=(*task.alerted, *(a[0] for a in fresh))))
            if raised:
                log.info("tasks_overdue", order_id=record.order_id, alerts=raised)
                outputs.append(self._snapshot(structs.replace(record, tasks=tuple(tasks))))
        return outputs

    def _escalate(
        self,
        record: OrderRecord,
        task: TaskRecord,
        *,
        mark: str,
        reason: EscalationReason,
        due: datetime,
        now: datetime,
    ) -> Output:
        what = "acknowledged" if reason is EscalationReason.ACK_OVERDUE else "completed"
        entity = f"{record.order_id}/{task.task_id}"
        body = Escalation(
            subject_message_id=task.source_message_id,
            reason=reason,
            entity_id=entity if len(entity) <= 64 else record.order_id,  # noqa: PLR2004 - EntityId
            outstanding=task.assignees,
            due_at=due,
            detected_at=now,
            detail=f"task {task.task_id} ({task.task.task_type.value}) for {task.task.nation} "
            f"{task.task.unit} is {task.state.value}: not {what} by {due.isoformat()}",
        )
        envelope = self.desk.envelope(
            body,
            message_id=ids.message_id("task-overdue", f"{record.order_id}/{task.task_id}/{mark}"),
            action_to=(record.issuer,),
            info_to=("ROLE:WATCH",),
            label=record.label,
            subject=f"{reason.value} {record.order_id} task {task.task_id}",
            precedence=record.precedence,
            traffic_type=record.traffic_type,
            now=now,
            references=[task.source_message_id],
            correlation_id=record.order_id,
        )
        return self.desk.submit(envelope)


def _order_id(body: TaskingOrder | TaskStatus | SitRep) -> str | None:
    if isinstance(body, TaskingOrder):
        return body.base_order_id or body.order_id
    return body.order_id
