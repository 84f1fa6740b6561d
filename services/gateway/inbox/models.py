"""Wire types of the receive half (JSON, documented in the OpenAPI document)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from schemas.audit import AuditRecord
from schemas.kinds.notifications import AckResponse, ReadMode
from schemas.precedence import Precedence

CursorToken = Annotated[
    str,
    Meta(description="Opaque resume point (signed; valid only for the desk it was issued to)"),
]


class InboxMessage(Struct, frozen=True, kw_only=True, tag_field="type", tag="message"):
    """One delivered message; ``cursor`` resumes right after it."""

    cursor: CursorToken
    lane: Precedence
    offset: Annotated[int, Meta(ge=0, description="Kafka offset in the desk's lane")]
    message: Annotated[msgspec.Raw, Meta(description="The Envelope, as the router wrote it")]


class InboxPage(Struct, frozen=True, kw_only=True):
    messages: tuple[InboxMessage, ...]
    cursor: Annotated[str, Meta(description="Resume point after the last message (or unchanged)")]


class StreamClosing(Struct, frozen=True, kw_only=True, tag_field="type", tag="closing"):
    """The last frame before the gateway closes a stream; resume from ``cursor``."""

    reason: Annotated[str, Meta(description="e.g. `slow_consumer`, `shutdown`")]
    cursor: CursorToken


class ReadRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mode: ReadMode = ReadMode.MANUAL


class AckRequest(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    response: AckResponse
    reason: Annotated[str, Meta(max_length=1000, description="Required for CANNOT_COMPLY")] = ""
    remarks: Annotated[str, Meta(max_length=1000)] = ""


class ReceiptAccepted(Struct, frozen=True, kw_only=True):
    """The receipt message was durably written to its submit lane."""

    message_id: uuid.UUID
    subject_message_id: uuid.UUID
    dtg: str
    topic: str
    partition: int
    offset: int


class MessageStatus(Struct, frozen=True, kw_only=True):
    """The audit records of one message that the asking desk may see, oldest first."""

    message_id: uuid.UUID
    originator: str
    records: tuple[AuditRecord, ...]
