"""The in-memory tail of every inbox lane, and the per-desk wake-up signals.

For each inbox partition, a bounded window of its most recent committed records, filled by
the tailing reader (``tail.py``). ``since(topic, offset)`` answers from memory when the
window covers ``offset`` and returns None when it does not (older than the window, or the
reader has not caught up yet); the caller then reads Kafka through the catch-up pool.

Bounds: at most ``max_records`` records and ``max_bytes`` bytes per lane; evicting the
oldest record moves the covered start past it, so a covered answer is never missing a
record. Memory is therefore at most lanes x max_bytes, whatever the traffic.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import deque

from schemas.desks import Desk, DeskRegistry
from schemas.precedence import LANES_HIGH_FIRST, Precedence
from schemas.topics import inbox_topic
from services.gateway.inbox.lanes import InboxRecord


def _offset(record: InboxRecord) -> int:
    return record.offset


class LaneWindow:
    """The recent committed records of one inbox partition, oldest first."""

    __slots__ = ("bytes", "desk", "lane", "ready", "records", "start")

    def __init__(self, desk: str, lane: Precedence) -> None:
        self.desk = desk
        self.lane = lane
        self.records: deque[InboxRecord] = deque()
        self.bytes = 0
        # Every committed record from ``start`` up to the reader's position is in ``records``
        # (evictions move ``start`` up); only trusted once ``ready`` (reader caught up).
        self.start = 0
        self.ready = False

    @property
    def covered_from(self) -> int | None:
        return self.start if self.ready else None


class InboxStore:
    def __init__(
        self, registry: DeskRegistry, *, prefix: str, max_records: int, max_bytes: int
    ) -> None:
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._topics: dict[str, dict[Precedence, str]] = {}
        self._windows: dict[str, LaneWindow] = {}
        for desk in registry.desks:
            self._topics[desk.id] = {}
            for lane in LANES_HIGH_FIRST:
                topic = inbox_topic(desk, lane, prefix=prefix)
                self._topics[desk.id][lane] = topic
                self._windows[topic] = LaneWindow(desk.id, lane)
        self._signals: dict[str, asyncio.Event] = {}

    @property
    def max_records(self) -> int:
        return self._max_records

    def topics(self) -> list[str]:
        return list(self._windows)

    def topic(self, desk: Desk, lane: Precedence) -> str:
        return self._topics[desk.id][lane]

    def window(self, topic: str) -> LaneWindow:
        return self._windows[topic]

    # -- reading --------------------------------------------------------------------------

    def since(self, topic: str, offset: int, limit: int) -> list[InboxRecord] | None:
        """Up to ``limit`` records at or after ``offset``, or None if not covered here."""
        window = self._windows[topic]
        if window.covered_from is None or offset < window.covered_from:
            return None
        records = window.records
        # Offsets rise along the window: find the first at or after ``offset`` by bisection
        # (every stream of the desk asks on every wake-up; the window holds up to 256).
        first = bisect.bisect_left(records, offset, key=_offset)
        return list(itertools.islice(records, first, first + limit))

    # -- filling (the tail reader only) ---------------------------------------------------

    def reset(self, topic: str, start: int) -> None:
        """The reader (re)starts the lane at ``start``; reads go to Kafka until it is ready."""
        window = self._windows[topic]
        window.records.clear()
        window.bytes = 0
        window.start = start
        window.ready = False

    def mark_ready(self, topic: str) -> None:
        """The reader has caught up with the lane's committed end as of its start."""
        self._windows[topic].ready = True

    def append(self, topic: str, record: InboxRecord) -> None:
        window = self._windows[topic]
        window.records.append(record)
        window.bytes += len(record.value)
        while window.records and (
            len(window.records) > self._max_records or window.bytes > self._max_bytes
        ):
            evicted = window.records.popleft()
            window.bytes -= len(evicted.value)
            window.start = max(window.start, evicted.offset + 1)

    # -- signalling -----------------------------------------------------------------------

    def signal(self, desk_id: str) -> asyncio.Event:
        """The event the next record for ``desk_id`` sets; take it *before* reading."""
        event = self._signals.get(desk_id)
        if event is None:
            event = self._signals[desk_id] = asyncio.Event()
        return event

    def notify(self, desk_id: str) -> None:
        event = self._signals.pop(desk_id, None)
        if event is not None:
            event.set()

    def notify_all(self) -> None:
        for desk_id in list(self._signals):
            self.notify(desk_id)
