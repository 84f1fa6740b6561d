"""Reading a desk's inbox from a cursor: memory first, Kafka (catch-up pool) when older.

Lanes are read highest first and only as far as the limit needs, so a FLASH backlog is
never held up behind a read of the ROUTINE lane.
"""

from __future__ import annotations

import asyncio

from schemas.desks import Desk
from schemas.precedence import LANES_HIGH_FIRST, Precedence
from services.gateway.inbox.cursor import Cursor
from services.gateway.inbox.fetch import CatchUpPool
from services.gateway.inbox.lanes import InboxRecord, merge
from services.gateway.inbox.store import InboxStore


class InboxReader:
    def __init__(self, store: InboxStore, pool: CatchUpPool) -> None:
        self.store = store
        self.pool = pool

    async def read(
        self, desk: Desk, cursor: Cursor, limit: int
    ) -> tuple[list[InboxRecord], Cursor]:
        """Up to ``limit`` pending records in delivery order, and the cursor after them."""
        pending: dict[Precedence, list[InboxRecord]] = {}
        need = limit
        for lane in LANES_HIGH_FIRST:
            if need <= 0:
                break
            topic = self.store.topic(desk, lane)
            offset = cursor.offset(lane)
            records = self.store.since(topic, offset, need)
            if records is None:
                records = await self.pool.read(topic, lane, offset, need)
            pending[lane] = records
            need -= len(records)
        return merge(cursor, pending, limit)

    async def wait_read(
        self, desk: Desk, cursor: Cursor, limit: int, wait_s: float
    ) -> tuple[list[InboxRecord], Cursor]:
        """Like ``read``, but waits up to ``wait_s`` for a record when none is pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            signal = self.store.signal(desk.id)  # before reading: no wake-up is lost
            records, after = await self.read(desk, cursor, limit)
            remaining = deadline - loop.time()
            if records or remaining <= 0:
                return records, after
            try:
                await asyncio.wait_for(signal.wait(), remaining)
            except TimeoutError:
                return await self.read(desk, cursor, limit)
