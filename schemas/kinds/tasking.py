"""Reassurance-force tasking: orders from FORCE_HQ, task status and SITREPs from units."""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, ClassVar

from msgspec import Meta, Struct

from schemas.common import (
    Area,
    EntityId,
    LocalId,
    Name,
    Nation,
    Position,
    ShortText,
    Text,
    TimeWindow,
    UtcDatetime,
    invalid,
    require_unique,
    require_utc,
)
from schemas.kinds.base import BodyBase, EnvelopeFields


class OrderType(StrEnum):
    OPORD = "OPORD"  # operation order
    FRAGO = "FRAGO"  # fragmentary order: changes only
    TASKORD = "TASKORD"  # single-task order


class TaskDomain(StrEnum):
    AIR = "AIR"
    MARITIME = "MARITIME"
    LAND = "LAND"
    JOINT = "JOINT"


class TaskType(StrEnum):
    AIR_POLICING = "AIR_POLICING"
    AIR_DEFENCE = "AIR_DEFENCE"
    MARITIME_PATROL = "MARITIME_PATROL"
    MINE_COUNTERMEASURES = "MINE_COUNTERMEASURES"
    ESCORT = "ESCORT"
    PRESENCE_PATROL = "PRESENCE_PATROL"
    ISR = "ISR"
    TRAINING_SUPPORT = "TRAINING_SUPPORT"
    LOGISTICS_SUPPORT = "LOGISTICS_SUPPORT"
    MEDICAL_SUPPORT = "MEDICAL_SUPPORT"
    ENGINEERING = "ENGINEERING"
    OTHER = "OTHER"


class Task(Struct, frozen=True, kw_only=True):
    task_id: LocalId
    nation: Nation
    unit: Name
    domain: TaskDomain
    task_type: TaskType
    purpose: Annotated[str, Meta(min_length=1, max_length=2000)]
    area: Area
    window: TimeWindow
    instructions: Text = ""


class TaskingOrder(BodyBase, frozen=True, kw_only=True, tag="tasking.order.v1"):
    """OPORD / TASKORD carry the tasks; a FRAGO carries only changed or added tasks and the
    ids of cancelled ones, numbered by ``change_number`` against ``base_order_id``."""

    family: ClassVar[str | None] = "tasking"

    order_id: EntityId
    order_type: OrderType
    operation_name: Name
    time_frame: TimeWindow
    situation: Text = ""
    mission: Annotated[str, Meta(max_length=4000)] = ""
    tasks: Annotated[tuple[Task, ...], Meta(max_length=200)] = ()
    base_order_id: EntityId | None = None  # FRAGO only
    change_number: Annotated[int, Meta(ge=1, le=9999)] | None = None  # FRAGO only
    cancelled_task_ids: Annotated[tuple[LocalId, ...], Meta(max_length=200)] = ()

    def __post_init__(self) -> None:
        require_unique("tasks", [task.task_id for task in self.tasks])
        if self.order_type is OrderType.FRAGO:
            if self.base_order_id is None or self.change_number is None:
                raise invalid("change_number", "and `base_order_id` are required in a FRAGO")
            if not self.tasks and not self.cancelled_task_ids:
                raise invalid("tasks", "or `cancelled_task_ids` must carry a change")
        else:
            if self.base_order_id is not None or self.change_number is not None:
                raise invalid("change_number", "and `base_order_id` belong to a FRAGO only")
            if self.cancelled_task_ids:
                raise invalid("cancelled_task_ids", "belong to a FRAGO only")
            if not self.tasks:
                raise invalid("tasks", "must not be empty")

    def check_envelope(self, envelope: EnvelopeFields) -> None:
        if not envelope.ack_required:
            raise invalid("ack_required", "must be set on a tasking order")

    def entity_key(self) -> str:
        # A FRAGO is ordered with the order it changes.
        return self.base_order_id or self.order_id


class TaskState(StrEnum):
    RECEIVED = "RECEIVED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    WILL_COMPLY = "WILL_COMPLY"
    CANNOT_COMPLY = "CANNOT_COMPLY"
    IN_PROGRESS = "IN_PROGRESS"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    PARTIALLY_COMPLETED = "PARTIALLY_COMPLETED"
    ABORTED = "ABORTED"
    CANCELLED = "CANCELLED"  # by HQ only


_T = TaskState
_NEEDS_REASON = frozenset(
    {_T.CANNOT_COMPLY, _T.PAUSED, _T.PARTIALLY_COMPLETED, _T.ABORTED, _T.CANCELLED}
)
_ACTIVE = frozenset({_T.RECEIVED, _T.ACKNOWLEDGED, _T.WILL_COMPLY, _T.IN_PROGRESS, _T.PAUSED})
# to-state -> states it may follow. CANCELLED is issued by FORCE_HQ, the rest by the unit.
TASK_TRANSITIONS: MappingProxyType[TaskState, frozenset[TaskState | None]] = MappingProxyType(
    {
        _T.RECEIVED: frozenset({None}),
        _T.ACKNOWLEDGED: frozenset({_T.RECEIVED}),
        _T.WILL_COMPLY: frozenset({_T.RECEIVED, _T.ACKNOWLEDGED}),
        _T.CANNOT_COMPLY: frozenset({_T.RECEIVED, _T.ACKNOWLEDGED}),
        _T.IN_PROGRESS: frozenset({_T.WILL_COMPLY, _T.PAUSED}),
        _T.PAUSED: frozenset({_T.IN_PROGRESS}),
        _T.COMPLETED: frozenset({_T.IN_PROGRESS}),
        _T.PARTIALLY_COMPLETED: frozenset({_T.IN_PROGRESS, _T.PAUSED}),
        _T.ABORTED: frozenset({_T.IN_PROGRESS, _T.PAUSED}),
        _T.CANCELLED: _ACTIVE,
    }
)


class TaskStatus(BodyBase, frozen=True, kw_only=True, tag="tasking.status.v1"):
    family: ClassVar[str | None] = "tasking"

    order_id: EntityId
    task_id: LocalId
    state: TaskState
    unit: Name
    as_of: UtcDatetime
    reason: ShortText = ""
    progress_pct: Annotated[int, Meta(ge=0, le=100)] | None = None
    position: Position | None = None
    remarks: ShortText = ""

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is not UTC:
            require_utc(self, "as_of")
        if self.state in _NEEDS_REASON and not self.reason.strip():
            raise invalid("reason", f"is required for {self.state.value}")

    def entity_key(self) -> str:
        return self.order_id


class Readiness(StrEnum):
    """Readiness colour: GREEN fully capable … BLACK not capable."""

    GREEN = "GREEN"
    AMBER = "AMBER"
    RED = "RED"
    BLACK = "BLACK"


class SupplyClass(StrEnum):
    RATIONS_WATER = "RATIONS_WATER"  # class I
    FUEL = "FUEL"  # class III
    AMMUNITION = "AMMUNITION"  # class V
    SPARES = "SPARES"  # class IX
    MEDICAL = "MEDICAL"  # class VIII


class SupplyStatus(Struct, frozen=True, kw_only=True):
    supply_class: SupplyClass
    status: Readiness
    days_of_supply: Annotated[float, Meta(ge=0.0, le=365.0)] | None = None


class Personnel(Struct, frozen=True, kw_only=True):
    assigned: Annotated[int, Meta(ge=0, le=1_000_000)]
    available: Annotated[int, Meta(ge=0, le=1_000_000)]

    def __post_init__(self) -> None:
        if self.available > self.assigned:
            raise invalid("available", "exceeds `assigned`")


class SitRep(BodyBase, frozen=True, kw_only=True, tag="tasking.sitrep.v1"):
    """Periodic unit situation report."""

    family: ClassVar[str | None] = "tasking"

    unit: Name
    nation: Nation
    period: TimeWindow
    order_id: EntityId | None = None  # the order the unit operates under, if any
    readiness: Readiness
    location: Position
    activity: Annotated[str, Meta(min_length=1, max_length=4000)]
    logistics: Annotated[tuple[SupplyStatus, ...], Meta(max_length=10)] = ()
    personnel: Personnel | None = None
    intentions: Text = ""

    def __post_init__(self) -> None:
        # Enum members compare by identity; ``.value`` (Python code) only to name a repeat.
        classes = [s.supply_class for s in self.logistics]
        if len(set(classes)) != len(classes):
            require_unique("logistics", [c.value for c in classes])

    def entity_key(self) -> str | None:
        return self.order_id
