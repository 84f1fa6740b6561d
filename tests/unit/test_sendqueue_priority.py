"""The send queue hands out the highest priority first, FIFO within a priority, bounded."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.inbox.sendqueue import SendQueue, SlowClient


async def test_higher_priority_overtakes_fifo_within_a_priority() -> None:
    queue: SendQueue[str] = SendQueue(8, stall_s=0.05)
    for name in ("r1", "r2", "r3"):
        await queue.put(name, priority=1)
    await queue.put("f1", priority=4)
    await queue.put("i1", priority=3)
    await queue.put("f2", priority=4)
    got = [await queue.get() for _ in range(6)]
    assert got == ["f1", "f2", "i1", "r1", "r2", "r3"]


async def test_a_full_queue_bounds_every_priority() -> None:
    queue: SendQueue[str] = SendQueue(2, stall_s=0.05)
    await queue.put("r1", priority=1)
    await queue.put("r2", priority=1)
    with pytest.raises(SlowClient):
        await queue.put("f1", priority=4)
    assert queue.depth == 2


async def test_a_waiting_higher_priority_item_is_next_once_there_is_room() -> None:
    queue: SendQueue[str] = SendQueue(2, stall_s=5.0)
    await queue.put("r1", priority=1)
    await queue.put("r2", priority=1)
    waiting = asyncio.create_task(queue.put("f1", priority=4))
    await asyncio.sleep(0)
    assert await queue.get() == "r1"
    await asyncio.wait_for(waiting, 5)
    assert [await queue.get(), await queue.get()] == ["f1", "r2"]
