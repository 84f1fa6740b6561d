"""Receipts, acknowledgements and cell notifications (DOMAIN §6), kept as separate kinds.

Every notification names the message it is about in ``subject_message_id``. The cell labels
a notification no lower than the message it is about (DOMAIN §4 rule 4); that is a routing
rule, so it lives in the router, not here.
"""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from schemas.addresses import AddressStr
from schemas.common import DeskId, EntityId, ShortText, UtcDatetime, invalid, require_utc
from schemas.kinds.base import BodyBase
from schemas.precedence import Precedence


class NonDeliveryReason(StrEnum):
    LABEL_NOT_RELEASABLE = "LABEL_NOT_RELEASABLE"  # recipient's nation not in releasable_to
    CLEARANCE_INSUFFICIENT = "CLEARANCE_INSUFFICIENT"
    CATEGORY_NOT_HELD = "CATEGORY_NOT_HELD"  # a restrictive category the desk lacks
    UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
    EXPIRED = "EXPIRED"  # expires_at passed before delivery
    EXERCISE_ONLY = "EXERCISE_ONLY"  # operational traffic to an exercise-only desk
    NOT_EXERCISE_ENABLED = "NOT_EXERCISE_ENABLED"  # exercise/drill traffic to a real-only desk
    ORIGINATOR_NOT_AUTHORISED = "ORIGINATOR_NOT_AUTHORISED"  # role missing for this kind
    PRECEDENCE_NOT_AUTHORISED = "PRECEDENCE_NOT_AUTHORISED"  # FLASH without the FLASH role
    MINIMIZE = "MINIMIZE"  # MINIMIZE in force and not considered by the originator


class AddresseeRole(StrEnum):
    ACTION = "ACTION"
    INFO = "INFO"


class DeliveryReport(BodyBase, frozen=True, kw_only=True, tag="notify.delivery.v1"):
    """The cell placed the message in the recipient's inbox."""

    subject_message_id: UUID
    recipient: DeskId
    addressee_role: AddresseeRole
    precedence: Precedence  # as delivered: primary for action, copy for info addressees
    delivered_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.delivered_at.tzinfo is not UTC:
            require_utc(self, "delivered_at")


class NonDeliveryReport(BodyBase, frozen=True, kw_only=True, tag="notify.non_delivery.v1"):
    """The recipient got nothing of the content; other recipients are unaffected."""

    subject_message_id: UUID
    recipient: AddressStr  # may be an address that matched no desk
    reason: NonDeliveryReason
    detail: ShortText = ""
    occurred_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is not UTC:
            require_utc(self, "occurred_at")


class ReadMode(StrEnum):
    MANUAL = "MANUAL"  # an operator opened it
    AUTOMATIC = "AUTOMATIC"  # the recipient's system consumed it


class ReadReceipt(BodyBase, frozen=True, kw_only=True, tag="notify.read.v1"):
    subject_message_id: UUID
    reader: DeskId
    mode: ReadMode
    read_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.read_at.tzinfo is not UTC:
            require_utc(self, "read_at")


class AckResponse(StrEnum):
    ACKNOWLEDGED = "ACKNOWLEDGED"
    WILL_COMPLY = "WILL_COMPLY"
    CANNOT_COMPLY = "CANNOT_COMPLY"


class OperationalAck(BodyBase, frozen=True, kw_only=True, tag="notify.ack.v1"):
    """Received and understood. CANNOT_COMPLY must say why."""

    subject_message_id: UUID
    response: AckResponse
    reason: ShortText = ""
    remarks: ShortText = ""
    acknowledged_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.acknowledged_at.tzinfo is not UTC:
            require_utc(self, "acknowledged_at")
        if self.response is AckResponse.CANNOT_COMPLY and not self.reason.strip():
            raise invalid("reason", "is required when the response is CANNOT_COMPLY")


class NonReceiptReason(StrEnum):
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"
    DISCARDED = "DISCARDED"


class NonReceipt(BodyBase, frozen=True, kw_only=True, tag="notify.non_receipt.v1"):
    """Delivered but never read: expired, superseded or discarded first."""

    subject_message_id: UUID
    recipient: DeskId
    reason: NonReceiptReason
    superseded_by: UUID | None = None
    occurred_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is not UTC:
            require_utc(self, "occurred_at")
        if (self.reason is NonReceiptReason.SUPERSEDED) != (self.superseded_by is not None):
            raise invalid("superseded_by", "is required for, and only for, SUPERSEDED")


class EscalationReason(StrEnum):
    ACK_OVERDUE = "ACK_OVERDUE"  # ack_by passed with action addressees outstanding
    SPEED_OF_SERVICE = "SPEED_OF_SERVICE"  # half the handling target passed undelivered
    TASK_OVERDUE = "TASK_OVERDUE"
    REMEDY_OVERDUE = "REMEDY_OVERDUE"
    REQUEST_OVERDUE = "REQUEST_OVERDUE"


class Escalation(BodyBase, frozen=True, kw_only=True, tag="notify.escalation.v1"):
    """Raised by the cell to the originator and WATCH."""

    subject_message_id: UUID
    reason: EscalationReason
    entity_id: EntityId | None = None  # task, remedy or request concerned, if any
    outstanding: Annotated[tuple[DeskId, ...], Meta(max_length=500)] = ()
    due_at: UtcDatetime
    detected_at: UtcDatetime
    detail: ShortText = ""

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is not UTC or self.detected_at.tzinfo is not UTC:
            require_utc(self, "due_at", "detected_at")


class RejectionCode(StrEnum):
    INVALID_TRANSITION = "INVALID_TRANSITION"
    NOT_AUTHORISED = "NOT_AUTHORISED"
    UNKNOWN_ENTITY = "UNKNOWN_ENTITY"
    DUPLICATE_ENTITY = "DUPLICATE_ENTITY"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    INVALID_REFERENCE = "INVALID_REFERENCE"
    # Data that cannot be true (observer off the map, a window in the future, an unknown
    # zone): refused by the service that owns it, each reason in ``detail``.
    IMPLAUSIBLE_DATA = "IMPLAUSIBLE_DATA"


class ActionRejected(BodyBase, frozen=True, kw_only=True, tag="notify.rejected.v1"):
    """A domain service refused a command; never silently dropped (DOMAIN §7)."""

    subject_message_id: UUID
    code: RejectionCode
    entity_id: EntityId | None = None
    current_state: Annotated[str, Meta(max_length=64)] | None = None
    detail: Annotated[str, Meta(min_length=1, max_length=1000)]
    occurred_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is not UTC:
            require_utc(self, "occurred_at")


Notification = (
    DeliveryReport
    | NonDeliveryReport
    | ReadReceipt
    | OperationalAck
    | NonReceipt
    | Escalation
    | ActionRejected
)
NOTIFICATION_KINDS: tuple[type[BodyBase], ...] = (
    DeliveryReport,
    NonDeliveryReport,
    ReadReceipt,
    OperationalAck,
    NonReceipt,
    Escalation,
    ActionRejected,
)
