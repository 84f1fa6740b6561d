"""Lane merge: what a desk gets next from its four inbox lanes (pure, no I/O).

Strict priority among pending records: every pending FLASH before any IMMEDIATE, and so on
down to ROUTINE; FIFO (offset order) within a lane. Records below the cursor are dropped,
which is what makes a resume deliver each record exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from schemas.precedence import LANES_HIGH_FIRST, Precedence
from services.gateway.inbox.cursor import Cursor


class InboxRecord(msgspec.Struct, frozen=True):
    """One committed record of an inbox lane; ``value`` is the encoded envelope (JSON)."""

    lane: Precedence
    offset: int
    value: bytes


def merge(
    cursor: Cursor, pending: Mapping[Precedence, Iterable[InboxRecord]], limit: int
) -> tuple[list[InboxRecord], Cursor]:
    """Up to ``limit`` records in delivery order, and the cursor after the last of them."""
    taken: list[InboxRecord] = []
    for lane in LANES_HIGH_FIRST:
        if len(taken) >= limit:
            break
        start = cursor.offset(lane)
        fresh = sorted(
            (r for r in pending.get(lane, ()) if r.offset >= start), key=lambda r: r.offset
        )
        for record in fresh[: limit - len(taken)]:
            taken.append(record)
            cursor = cursor.advanced(lane, record.offset)
    return taken, cursor


def cursors_along(cursor: Cursor, records: Iterable[InboxRecord]) -> list[Cursor]:
    """The cursor after each record, for per-message resume points (WebSocket frames)."""
    result = []
    for record in records:
        cursor = cursor.advanced(record.lane, record.offset)
        result.append(cursor)
    return result
