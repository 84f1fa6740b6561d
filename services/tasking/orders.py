"""Orders, FRAGOs and task status: who may act, which transition, what it records.

- An OPORD / TASKORD comes from a FORCE_HQ desk, under a new order id, and must reach each
  tasked nation as an action addressee (else that nation would never see its task). Every
  task starts RECEIVED and is due an acknowledgement by the envelope's ``ack_by``.
- A FRAGO (FORCE_HQ) names its base order and a change number above every change applied;
  a lower or equal number is stale and refused. A changed task is replaced by its new
  version and starts again at RECEIVED (its assignee acknowledges the new version) unless it
  is already finished; added tasks start RECEIVED; cancelled ones become CANCELLED.
- A ``TaskStatus`` comes from a desk of the tasked nation for its own unit, along
  ``TASK_TRANSITIONS``; only FORCE_HQ may cancel. A progress report while IN_PROGRESS keeps
  the state and records the progress.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct, structs

from schemas.desks import Desk, DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.notifications import RejectionCode
from schemas.kinds.tasking import TASK_TRANSITIONS, Task, TaskingOrder, TaskState, TaskStatus
from schemas.roles import Role
from services.tasking.state import HistoryEntry, OrderRecord, TaskRecord

FINISHED = frozenset(
    {TaskState.COMPLETED, TaskState.PARTIALLY_COMPLETED, TaskState.ABORTED, TaskState.CANCELLED}
)
_BAD_REF = RejectionCode.INVALID_REFERENCE


class Refused(Struct, frozen=True, kw_only=True):
    code: RejectionCode
    detail: str
    current_state: str | None = None


def _force_hq(desk: Desk | None, envelope: Envelope) -> Refused | None:
    if desk is None or Role.FORCE_HQ not in desk.roles:
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            detail=f"{envelope.originator} is not a FORCE_HQ desk; only force HQ issues orders",
        )
    return None


def _assignees(envelope: Envelope, registry: DeskRegistry, nation: str) -> tuple[str, ...]:
    # Groups never reach the originator (router rule); cell services are not national staff.
    reached = {d.id: d for a in envelope.action_to for d in registry.expand(a)}
    return tuple(
        d.id
        for d in reached.values()
        if d.nation == nation and d.id != envelope.originator and Role.SERVICE not in d.roles
    )


def _new_tasks(
    envelope: Envelope,
    tasks: tuple[Task, ...],
    registry: DeskRegistry,
    *,
    change: int,
    ack_due: datetime,
    now: datetime,
) -> list[TaskRecord] | Refused:
    records = []
    for task in tasks:
        assignees = _assignees(envelope, registry, task.nation)
        if not assignees:
            return Refused(
                code=_BAD_REF,
                detail=f"task {task.task_id} is for {task.nation}, which no action addressee "
                "of the order reaches",
            )
        records.append(
            TaskRecord(
                task=task,
                change=change,
                source_message_id=envelope.message_id,
                state=TaskState.RECEIVED,
                assignees=assignees,
                ack_due=ack_due,
                updated_at=now,
            )
        )
    return records


def ack_due(envelope: Envelope, window: timedelta) -> datetime:
    return envelope.ack_by or envelope.created_at + window


def issue(
    envelope: Envelope,
    order: TaskingOrder,
    *,
    desk: Desk | None,
    registry: DeskRegistry,
    now: datetime,
    ack_window: timedelta,
) -> OrderRecord | Refused:
    refused = _force_hq(desk, envelope)
    if refused is not None:
        return refused
    tasks = _new_tasks(
        envelope, order.tasks, registry, change=0, ack_due=ack_due(envelope, ack_window), now=now
    )
    if isinstance(tasks, Refused):
        return tasks
    entry = HistoryEntry(
        message_id=envelope.message_id,
        action=order.order_type.value,
        actor=envelope.originator,
        at=now,
        change=0,
        note=f"{len(tasks)} task(s) issued",
    )
    return OrderRecord(
        order=order,
        issuer=envelope.originator,
        label=envelope.label,
        traffic_type=envelope.traffic_type,
        precedence=envelope.primary_precedence,
        tasks=tuple(tasks),
        history=(entry,),
    )


def frago(
    record: OrderRecord,
    envelope: Envelope,
    order: TaskingOrder,
    *,
    desk: Desk | None,
    registry: DeskRegistry,
    now: datetime,
    ack_window: timedelta,
) -> OrderRecord | Refused:
    refused = _force_hq(desk, envelope)
    if refused is not None:
        return refused
    change = order.change_number or 0
    if change <= record.change_number:
        return Refused(
            code=RejectionCode.VERSION_CONFLICT,
            detail=f"change {change} is stale: order {record.order_id} is at change "
            f"{record.change_number}",
        )
    current = {t.task_id: t for t in record.tasks}
    for task_id in (*(t.task_id for t in order.tasks), *order.cancelled_task_ids):
        known = current.get(task_id)
        if known is not None and known.state in FINISHED:
            return Refused(
                code=RejectionCode.INVALID_TRANSITION,
                current_state=known.state.value,
                detail=f"task {task_id} is {known.state.value}; it cannot change",
            )
    unknown = [t for t in order.cancelled_task_ids if t not in current]
    if unknown:
        return Refused(code=_BAD_REF, detail=f"no task(s) {', '.join(unknown)} to cancel")
    changed = _new_tasks(
        envelope,
        order.tasks,
        registry,
        change=change,
        ack_due=ack_due(envelope, ack_window),
        now=now,
    )
    if isinstance(changed, Refused):
        return changed
    for task in changed:
        current[task.task_id] = task
    for task_id in order.cancelled_task_ids:
        current[task_id] = structs.replace(
            current[task_id],
            state=TaskState.CANCELLED,
            updated_at=now,
            reason=f"cancelled by change {change}",
        )
    entry = HistoryEntry(
        message_id=envelope.message_id,
        action="FRAGO",
        actor=envelope.originator,
        at=now,
        change=change,
        note=f"changed {[t.task_id for t in changed]}, cancelled {list(order.cancelled_task_ids)}",
    )
    return structs.replace(
        record,
        change_number=change,
        tasks=tuple(current.values()),
        history=(*record.history, entry),
    )


def report(
    record: OrderRecord,
    envelope: Envelope,
    status: TaskStatus,
    *,
    desk: Desk | None,
    now: datetime,
) -> OrderRecord | Refused:
    task = record.task(status.task_id)
    if task is None:
        return Refused(
            code=_BAD_REF, detail=f"order {record.order_id} has no task {status.task_id}"
        )
    state = task.state.value
    if status.state is TaskState.CANCELLED:
        allowed = desk is not None and Role.FORCE_HQ in desk.roles
        who = "force HQ"
    else:
        allowed = desk is not None and desk.nation == task.task.nation
        who = f"the tasked nation ({task.task.nation})"
    if not allowed:
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            current_state=state,
            detail=f"only {who} may report {status.state.value} on task "
            f"{status.task_id}; {envelope.originator} refused",
        )
    if status.state is not TaskState.CANCELLED and status.unit != task.task.unit:
        return Refused(
            code=_BAD_REF,
            current_state=state,
            detail=f"task {status.task_id} is assigned to {task.task.unit}, not {status.unit}",
        )
    progress = status.state is TaskState.IN_PROGRESS and task.state is TaskState.IN_PROGRESS
    if not progress and task.state not in TASK_TRANSITIONS[status.state]:
        return Refused(
            code=RejectionCode.INVALID_TRANSITION,
            current_state=state,
            detail=f"task {status.task_id} cannot go from {state} to {status.state.value}",
        )
    updated = structs.replace(
        task,
        state=status.state,
        updated_at=now,
        reason=status.reason or task.reason,
        progress_pct=status.progress_pct,
    )
    entry = HistoryEntry(
        message_id=envelope.message_id,
        action="STATUS",
        actor=envelope.originator,
        at=now,
        change=task.change,
        task_id=task.task_id,
        to_state=status.state,
        note=status.reason or status.remarks,
    )
    tasks = tuple(updated if t.task_id == task.task_id else t for t in record.tasks)
    return structs.replace(record, tasks=tasks, history=(*record.history, entry))
