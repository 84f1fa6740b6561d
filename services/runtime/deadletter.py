"""Dead letters: a poison record, unchanged, with why and where it came from in headers.

The value is the original bytes (never re-encoded: an operator must see exactly what broke the
consumer) and the key is the original key. The original headers are kept and ``dlq-*`` headers
are appended. Transactional consumers call ``send_deadletter`` inside their transaction, so the
dead letter and the input offset commit together and the partition keeps flowing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

from msgspec import Struct

HEADER_REASON = "dlq-reason"
HEADER_ERROR = "dlq-error"
HEADER_SOURCE_TOPIC = "dlq-source-topic"
HEADER_SOURCE_PARTITION = "dlq-source-partition"
HEADER_SOURCE_OFFSET = "dlq-source-offset"
HEADER_SERVICE = "dlq-service"
_MAX_ERROR = 2000  # header bytes; an error text is a hint for an operator, not a log


class SourceRecord(Protocol):
    """What a consumed record (aiokafka ``ConsumerRecord``) exposes to the dead-letter writer."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Iterable[tuple[str, bytes]] | None: ...


class DeadLetter(Struct, frozen=True, kw_only=True):
    """One record for the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def dead_letter(record: SourceRecord, *, reason: str, error: str, service: str) -> DeadLetter:
    """The dead letter for ``record``; ``reason`` is a stable code (e.g. ``undecodable``)."""
    original = tuple((str(name), bytes(value)) for name, value in (record.headers or ()))
    extra = (
        (HEADER_REASON, reason.encode()),
        (HEADER_ERROR, error[:_MAX_ERROR].encode(errors="replace")),
        (HEADER_SOURCE_TOPIC, record.topic.encode()),
        (HEADER_SOURCE_PARTITION, str(record.partition).encode()),
        (HEADER_SOURCE_OFFSET, str(record.offset).encode()),
        (HEADER_SERVICE, service.encode()),
    )
    return DeadLetter(key=record.key, value=record.value, headers=original + extra)


async def send_deadletter(
    producer: Any,  # noqa: ANN401 - aiokafka is untyped
    topic: str,
    record: SourceRecord,
    *,
    reason: str,
    error: str,
    service: str,
) -> asyncio.Future[Any]:
    """Queue the dead letter on ``producer`` (inside the caller's transaction, if any).

    Returns the delivery future; the caller awaits it (or commits its transaction, which
    flushes it) under its own deadline.
    """
    letter = dead_letter(record, reason=reason, error=error, service=service)
    future: asyncio.Future[Any] = await producer.send(
        topic, value=letter.value, key=letter.key, headers=list(letter.headers)
    )
    return future
