"""The canonical line: one log line per handled message, with the same fields everywhere.

Every consuming worker emits exactly one line per message it handled, after the handling
committed: the router ``message_routed``, the domain services ``message_handled`` (from the
shared transactional loop). The facts come from the record's headers (set by the gateway and
kept by the router), so the line costs no second decode; ``released_at`` is read with a
one-field decoder for the end-to-end latency. The same call records the worker metrics.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from schemas import codec
from services.runtime import metrics
from services.runtime.deadletter import SourceRecord
from services.runtime.logging import get_logger

EVENT_HANDLED = "message_handled"
# The documented fields of every canonical line (README "Logs"); tests hold the lines to it.
FIELDS = (
    "service",
    "event",
    "message_id",
    "desk",
    "topic",
    "partition",
    "offset",
    "precedence",
    "kind",
    "duration_ms",
    "outcome",
)

log = get_logger("cell.canonical")


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    """What a record's headers say about its message."""

    message_id: str | None = None
    desk: str | None = None
    precedence: str | None = None
    kind: str | None = None


class _Released(msgspec.Struct):
    released_at: datetime | None = None


_released = msgspec.json.Decoder(_Released)


def facts(record: SourceRecord) -> Facts:
    headers = [(str(k), bytes(v)) for k, v in (record.headers or ())]
    kind = codec.header_value(headers, codec.HEADER_KIND)
    version = codec.header_value(headers, codec.HEADER_KIND_VERSION)
    return Facts(
        message_id=codec.header_value(headers, codec.HEADER_MESSAGE_ID),
        desk=codec.header_value(headers, codec.HEADER_ORIGINATOR),
        precedence=codec.header_value(headers, codec.HEADER_PRECEDENCE),
        kind=kind if kind is None or version is None else f"{kind}.v{version}",  # as the tag
    )


def released_at(value: bytes | None) -> datetime | None:
    """The envelope's ``released_at`` (only that field is decoded), or None if unreadable."""
    if value is None:
        return None
    try:
        released = _released.decode(value).released_at
    except msgspec.DecodeError:
        return None
    if released is None or released.tzinfo is None:
        return None
    return released


def handled(
    service: str,
    record: SourceRecord,
    *,
    facts: Facts,
    duration_s: float,
    outcome: str,
    now: datetime,
    event: str = EVENT_HANDLED,
    **extra: object,
) -> None:
    """Record the metrics of one handled message and emit its canonical line."""
    released = released_at(record.value)
    end_to_end: timedelta | None = None if released is None else now - released
    metrics.observe_handled(
        service,
        outcome=outcome,
        duration_s=duration_s,
        precedence=facts.precedence,
        end_to_end=end_to_end,
    )
    log.info(
        event,
        service=service,
        message_id=facts.message_id,
        desk=facts.desk,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        precedence=facts.precedence,
        kind=facts.kind,
        duration_ms=round(duration_s * 1000, 2),
        end_to_end_ms=None if end_to_end is None else round(end_to_end.total_seconds() * 1000),
        outcome=outcome,
        **extra,
    )
