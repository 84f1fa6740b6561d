"""What the tasking service keeps on ``cell.state.orders``.

One ``OrderRecord`` per order (key: order id) holds the order as issued, its tasks at their
latest change (each with its state, the desks of the tasked nation it reached, the
acknowledgement deadline and the overdue alerts already raised), the history of applied
message ids (the idempotency log) and the SITREPs filed under it. SITREPs that name no order
go to one ``UnitRecord`` per unit (key: ``!unit/<nation>/<unit>``; ``!`` cannot start an
order id, so the two never collide).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import Struct

from schemas.common import TrafficType
from schemas.kinds.tasking import SitRep, Task, TaskingOrder, TaskState
from schemas.labels import SecurityLabel
from schemas.precedence import Precedence

UNIT_KEY_PREFIX = "!unit/"
SITREPS_KEPT = 20


class TaskRecord(Struct, frozen=True, kw_only=True):
    task: Task
    change: int  # 0 as first issued, else the FRAGO change number that last set it
    source_message_id: UUID  # the order or FRAGO that set this version
    state: TaskState
    assignees: tuple[str, ...]  # desks of the tasked nation the order reached as action
    ack_due: datetime
    updated_at: datetime
    reason: str = ""
    progress_pct: int | None = None
    alerted: tuple[str, ...] = ()  # "ack:<change>", "done:<change>": raised once each

    @property
    def task_id(self) -> str:
        return self.task.task_id


class HistoryEntry(Struct, frozen=True, kw_only=True):
    message_id: UUID
    action: str  # ORDER, FRAGO, STATUS, SITREP
    actor: str
    at: datetime
    change: int
    task_id: str | None = None
    to_state: TaskState | None = None
    note: str = ""


class SitrepEntry(Struct, frozen=True, kw_only=True):
    message_id: UUID
    originator: str
    received_at: datetime
    sitrep: SitRep


class OrderRecord(Struct, frozen=True, kw_only=True, tag="order"):
    order: TaskingOrder  # as first issued; current tasks are in ``tasks``
    issuer: str
    label: SecurityLabel
    traffic_type: TrafficType
    precedence: Precedence
    change_number: int = 0
    tasks: tuple[TaskRecord, ...]
    history: tuple[HistoryEntry, ...]
    sitreps: tuple[SitrepEntry, ...] = ()

    @property
    def order_id(self) -> str:
        return self.order.order_id

    def applied(self, message_id: UUID) -> bool:
        return any(entry.message_id == message_id for entry in self.history)

    def task(self, task_id: str) -> TaskRecord | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)


class UnitRecord(Struct, frozen=True, kw_only=True, tag="unit"):
    nation: str
    unit: str
    sitreps: tuple[SitrepEntry, ...]

    @property
    def key(self) -> str:
        return f"{UNIT_KEY_PREFIX}{self.nation}/{self.unit}"


StateRecord = OrderRecord | UnitRecord
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(StateRecord)


def encode_record(record: StateRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> StateRecord:
    return _DECODER.decode(data)


def state_key(record: StateRecord) -> bytes:
    return (record.key if isinstance(record, UnitRecord) else record.order_id).encode()


def keep_sitreps(entries: tuple[SitrepEntry, ...]) -> tuple[SitrepEntry, ...]:
    """The latest reports by period end, bounded so a record stays small."""
    ordered = sorted(entries, key=lambda e: (e.sitrep.period.end, str(e.message_id)))
    return tuple(ordered[-SITREPS_KEPT:])
