"""The bounded per-connection send queue of a WebSocket session.

A producer puts frames; one writer task takes them and writes them to the socket. When the
queue is full the producer waits, at most ``stall_s``: a client that has not taken a single
frame in that time is a slow client, and ``put`` raises ``SlowClient`` so the session can
close it with a resumable cursor. Memory per connection is therefore bounded by
``maxsize`` frames, whatever the client does.

``get`` returns the highest ``priority`` first, FIFO among equal priorities: a stream puts
each record with its lane's rank, so a FLASH overtakes ROUTINE frames already queued (the
writer computes each frame's resume cursor when it writes it, so that stays exact).
``get_many`` hands the writer everything queued at once (still highest first), so a burst
costs one wake-up and one socket write instead of one per frame.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Generic, TypeVar

T = TypeVar("T")


class SlowClient(Exception):
    """The queue stayed full for the whole stall deadline."""


class SendQueue(Generic[T]):
    def __init__(self, maxsize: int, *, stall_s: float) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._queue: asyncio.PriorityQueue[tuple[int, int, T]] = asyncio.PriorityQueue(maxsize)
        self._seq = itertools.count()  # FIFO among equal priorities; items are never compared
        self._stall_s = stall_s
        self.high_water = 0  # the deepest the queue has been: tests and metrics read it

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    @property
    def maxsize(self) -> int:
        return self._queue.maxsize

    @property
    def room(self) -> int:
        return self._queue.maxsize - self._queue.qsize()

    async def put(self, item: T, priority: int = 0) -> None:
        entry = (-priority, next(self._seq), item)
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(self._queue.put(entry), self._stall_s)
            except TimeoutError:
                raise SlowClient(f"send queue full for {self._stall_s:.1f}s") from None
        self.high_water = max(self.high_water, self._queue.qsize())

    async def get(self) -> T:
        (item,) = await self.get_many(1)
        return item

    async def get_many(self, limit: int) -> list[T]:
        """Wait for one item, then take up to ``limit`` in all, highest priority first.

        One wake-up of the writer for whatever is queued: it writes them together.
        """
        _, _, item = await self._queue.get()
        items = [item]
        while len(items) < limit and not self._queue.empty():
            items.append(self._queue.get_nowait()[2])
        for _ in items:
            self._queue.task_done()
        return items
