"""The audit trail: one record per routing decision, on `cell.audit` (key = message id).

The router writes these inside its transactions; the gateway materialises them into the
message status it shows (`GET /v1/messages/{id}`), filtered per asking desk: the originator
sees every record of its message, a recipient only the records naming it as recipient.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

import msgspec
from msgspec import Struct

from schemas.common import DeskId, ShortText, UtcDatetime, require_utc
from schemas.kinds.notifications import AddresseeRole, NonDeliveryReason
from schemas.precedence import Precedence


class Decision(StrEnum):
    DELIVERED = "DELIVERED"  # a copy was written to the recipient's inbox
    REFUSED = "REFUSED"  # not delivered to this recipient (reason says why)
    REJECTED = "REJECTED"  # the whole message refused (originator's rights, MINIMIZE)
    DUPLICATE = "DUPLICATE"  # same (originator, message id) seen before: not delivered again
    READ = "READ"  # the recipient posted a read receipt
    ACKNOWLEDGED = "ACKNOWLEDGED"  # the recipient posted an operational acknowledgement
    ESCALATED = "ESCALATED"  # acknowledgement overdue: escalated to originator and WATCH
    DEAD_LETTERED = "DEAD_LETTERED"  # undecodable or invalid record, sent to the DLQ


class AuditRecord(Struct, frozen=True, kw_only=True):
    message_id: uuid.UUID
    originator: DeskId
    decision: Decision
    at: UtcDatetime
    kind: str = ""
    precedence: Precedence | None = None
    recipient: DeskId | None = None  # None: a decision about the message as a whole
    addressee_role: AddresseeRole | None = None
    reason: NonDeliveryReason | None = None
    # For READ / ACKNOWLEDGED: the response (e.g. WILL_COMPLY); for others, a short note.
    detail: ShortText = ""
    inbox_topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    def __post_init__(self) -> None:
        require_utc(self, "at")

    def visible_to(self, desk_id: str) -> bool:
        """The originator sees all of its message's records; a recipient only its own."""
        return desk_id in (self.originator, self.recipient)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(AuditRecord)


def encode_audit(record: AuditRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_audit(data: bytes) -> AuditRecord:
    return _DECODER.decode(data)
