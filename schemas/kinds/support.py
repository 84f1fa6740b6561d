"""Support to Ukraine's armed forces: requests, offers (pledges), consignments, status."""

from __future__ import annotations

from datetime import UTC, date
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from msgspec import Meta, Struct

from schemas.common import (
    EntityId,
    Name,
    Position,
    ShortText,
    Text,
    Title,
    UtcDatetime,
    invalid,
    require_utc,
    whole,
)
from schemas.kinds.base import BodyBase

LineNo = Annotated[int, Meta(ge=1, le=999)]
Quantity = Annotated[int, Meta(ge=1, le=1_000_000_000)]
# Unit of issue: EA, RD (rounds), KG, L, SET, COURSE_PLACE, EUR for funding, …
UnitOfIssue = Annotated[str, Meta(pattern=whole(r"[A-Z][A-Z_]{0,15}"))]
Nsn = Annotated[str, Meta(pattern=whole(r"[0-9]{4}-[0-9]{2}-[0-9]{3}-[0-9]{4}"))]


class CapabilityArea(StrEnum):
    AIR_DEFENCE = "AIR_DEFENCE"
    ARTILLERY = "ARTILLERY"
    ARMOUR = "ARMOUR"
    DRONES = "DRONES"
    DEMINING = "DEMINING"
    ENGINEERING_FORTIFICATION = "ENGINEERING_FORTIFICATION"
    MARITIME = "MARITIME"
    LOGISTICS = "LOGISTICS"
    MEDICAL = "MEDICAL"
    TRAINING = "TRAINING"
    CYBER = "CYBER"
    OTHER = "OTHER"


class RequestKind(StrEnum):
    MATERIEL = "MATERIEL"
    SERVICE = "SERVICE"
    TRAINING = "TRAINING"
    FUNDING = "FUNDING"
    DEPOT_DRAW = "DEPOT_DRAW"  # draw on pre-positioned stock after an attack alert


class Urgency(StrEnum):
    EMERGENCY = "EMERGENCY"  # operations at immediate risk
    URGENT = "URGENT"
    PRIORITY = "PRIORITY"
    ROUTINE = "ROUTINE"


class RequestState(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"
    RETURNED_FOR_CLARIFICATION = "RETURNED_FOR_CLARIFICATION"
    SOURCING = "SOURCING"
    PARTIALLY_MATCHED = "PARTIALLY_MATCHED"
    MATCHED = "MATCHED"
    COMMITTED = "COMMITTED"
    IN_DELIVERY = "IN_DELIVERY"
    DELIVERED = "DELIVERED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    SUPERSEDED = "SUPERSEDED"
    AUTHORISED = "AUTHORISED"  # DEPOT_DRAW fast path
    DRAWN = "DRAWN"  # DEPOT_DRAW fast path


TERMINAL_REQUEST_STATES = frozenset(
    {RequestState.REJECTED, RequestState.CLOSED, RequestState.CANCELLED, RequestState.SUPERSEDED}
)


class DeliveryPoint(Struct, frozen=True, kw_only=True):
    name: Name
    position: Position | None = None
    contact: ShortText = ""


class RequestLine(Struct, frozen=True, kw_only=True):
    line_no: LineNo
    item: Title
    nsn: Nsn | None = None  # NATO Stock Number, when the item has one
    quantity: Quantity
    unit: UnitOfIssue
    specification: ShortText = ""


def check_lines(field: str, line_nos: list[int]) -> None:
    if len(set(line_nos)) != len(line_nos):
        raise invalid(field, "repeat a line number")


class SupportRequest(BodyBase, frozen=True, kw_only=True, tag="support.request.v1"):
    """A force request filed by a REQUESTER (UKR) desk."""

    family: ClassVar[str | None] = "support"

    request_id: EntityId
    request_kind: RequestKind
    capability_area: CapabilityArea
    title: Title
    lines: Annotated[tuple[RequestLine, ...], Meta(min_length=1, max_length=200)]
    justification: Annotated[str, Meta(min_length=1, max_length=8000)]
    priority_rank: Annotated[int, Meta(ge=1, le=10_000)]  # Ukraine's own ranking, 1 = first
    urgency: Urgency
    required_by: date
    delivery_point: DeliveryPoint
    depot: Name | None = None  # DEPOT_DRAW: the depot drawn on
    activating_alert: UUID | None = None  # DEPOT_DRAW: message id of the attack alert

    def __post_init__(self) -> None:
        check_lines("lines", [line.line_no for line in self.lines])
        draw = self.request_kind is RequestKind.DEPOT_DRAW
        if draw != (self.depot is not None) or draw != (self.activating_alert is not None):
            raise invalid(
                "depot", "and `activating_alert` are required for, and only for, DEPOT_DRAW"
            )

    def entity_key(self) -> str:
        return self.request_id


class Commitment(StrEnum):
    INDICATIVE = "INDICATIVE"  # being staffed nationally
    FIRM = "FIRM"  # pledged


class OfferLine(Struct, frozen=True, kw_only=True):
    line_no: LineNo  # the request line it answers
    quantity: Quantity
    available_by: date
    source: Annotated[str, Meta(max_length=200)] = ""  # stock, production, depot
    conditions: ShortText = ""


class Offer(BodyBase, frozen=True, kw_only=True, tag="support.offer.v1"):
    """A DONOR desk's pledge against request lines; the donor is the envelope originator."""

    family: ClassVar[str | None] = "support"

    offer_id: EntityId
    request_id: EntityId
    commitment: Commitment
    lines: Annotated[tuple[OfferLine, ...], Meta(min_length=1, max_length=200)]
    valid_until: UtcDatetime | None = None
    conditions: Text = ""

    def __post_init__(self) -> None:
        require_utc(self, "valid_until")
        check_lines("lines", [line.line_no for line in self.lines])

    def entity_key(self) -> str:
        return self.request_id  # ordered with the request it answers


class ConsignmentStatus(StrEnum):
    PREPARING = "PREPARING"
    DISPATCHED = "DISPATCHED"
    IN_TRANSIT = "IN_TRANSIT"
    HANDED_OVER = "HANDED_OVER"
    RECEIVED = "RECEIVED"
    LOST_OR_DAMAGED = "LOST_OR_DAMAGED"


class TransportMode(StrEnum):
    ROAD = "ROAD"
    RAIL = "RAIL"
    AIR = "AIR"
    SEA = "SEA"
    MULTIMODAL = "MULTIMODAL"


class ConsignmentLine(Struct, frozen=True, kw_only=True):
    line_no: LineNo
    quantity: Quantity


_SHIPPED = frozenset(
    {
        ConsignmentStatus.DISPATCHED,
        ConsignmentStatus.IN_TRANSIT,
        ConsignmentStatus.HANDED_OVER,
        ConsignmentStatus.RECEIVED,
        ConsignmentStatus.LOST_OR_DAMAGED,
    }
)


class Consignment(BodyBase, frozen=True, kw_only=True, tag="support.consignment.v1"):
    """Tracks one shipment against an offer, from preparation to receipt."""

    family: ClassVar[str | None] = "support"

    consignment_id: EntityId
    request_id: EntityId
    offer_id: EntityId
    status: ConsignmentStatus
    lines: Annotated[tuple[ConsignmentLine, ...], Meta(min_length=1, max_length=200)]
    transport: TransportMode
    origin: Name
    destination: DeliveryPoint
    dispatched_at: UtcDatetime | None = None
    eta: UtcDatetime | None = None
    received_at: UtcDatetime | None = None
    tracking_ref: Annotated[str, Meta(max_length=100)] = ""
    remarks: ShortText = ""

    def __post_init__(self) -> None:
        require_utc(self, "dispatched_at", "eta", "received_at")
        check_lines("lines", [line.line_no for line in self.lines])
        if (self.status in _SHIPPED) != (self.dispatched_at is not None):
            raise invalid("dispatched_at", "is required once, and only once, dispatched")
        if (self.status is ConsignmentStatus.RECEIVED) != (self.received_at is not None):
            raise invalid("received_at", "is required for, and only for, RECEIVED")
        if (
            self.received_at is not None
            and self.dispatched_at is not None
            and self.received_at < self.dispatched_at
        ):
            raise invalid("received_at", "must not be before `dispatched_at`")

    def entity_key(self) -> str:
        return self.request_id


class LineProgress(Struct, frozen=True, kw_only=True):
    line_no: LineNo
    requested: Quantity
    pledged: Annotated[int, Meta(ge=0)] = 0
    committed: Annotated[int, Meta(ge=0)] = 0
    delivered: Annotated[int, Meta(ge=0)] = 0


class RequestStatus(BodyBase, frozen=True, kw_only=True, tag="support.status.v1"):
    """The support service's view of a request after every change (state topic record)."""

    family: ClassVar[str | None] = "support"

    request_id: EntityId
    version: Annotated[int, Meta(ge=1)]
    state: RequestState
    request_kind: RequestKind
    request: SupportRequest | None = None  # the latest accepted version of the request
    lines: Annotated[tuple[LineProgress, ...], Meta(max_length=200)] = ()
    offer_ids: Annotated[tuple[EntityId, ...], Meta(max_length=500)] = ()
    consignment_ids: Annotated[tuple[EntityId, ...], Meta(max_length=500)] = ()
    updated_at: UtcDatetime
    note: ShortText = ""

    def __post_init__(self) -> None:
        if self.updated_at.tzinfo is not UTC:
            require_utc(self, "updated_at")
        check_lines("lines", [line.line_no for line in self.lines])
        if self.request is not None and self.request.request_id != self.request_id:
            raise invalid("request", "is another request than `request_id`")

    def entity_key(self) -> str:
        return self.request_id
