"""The bounded WebSocket send queue and the in-memory inbox window."""

from __future__ import annotations

import asyncio

import pytest

from schemas.desks import Desk, DeskRegistry
from schemas.labels import Clearance
from schemas.precedence import Precedence
from services.gateway.inbox.lanes import InboxRecord
from services.gateway.inbox.sendqueue import SendQueue, SlowClient
from services.gateway.inbox.store import InboxStore


async def test_put_waits_for_room_then_gives_up():
    queue: SendQueue[int] = SendQueue(2, stall_s=0.05)
    await queue.put(1)
    await queue.put(2)
    assert queue.room == 0
    with pytest.raises(SlowClient):
        await queue.put(3)
    assert queue.depth == 2
    assert queue.high_water == 2


async def test_a_reader_that_takes_frames_keeps_the_producer_going():
    queue: SendQueue[int] = SendQueue(1, stall_s=1.0)
    got: list[int] = []

    async def consume() -> None:
        got.extend([await queue.get() for _ in range(20)])

    consumer = asyncio.create_task(consume())
    for i in range(20):
        await queue.put(i)
    await asyncio.wait_for(consumer, 5)
    assert got == list(range(20))
    assert queue.high_water <= 1


def _store(max_records: int = 3, max_bytes: int = 1000) -> tuple[InboxStore, str]:
    desk = Desk(id="ukr.mod", nation="UKR", clearance=Clearance.SECRET)
    store = InboxStore(
        DeskRegistry(desks=(desk,)), prefix="t.", max_records=max_records, max_bytes=max_bytes
    )
    return store, store.topic(desk, Precedence.FLASH)


def test_window_answers_only_what_it_covers():
    store, topic = _store()
    assert topic == "t.cell.inbox.ukr.ukr.mod.flash"
    store.reset(topic, 10)
    assert store.since(topic, 10, 5) is None  # not caught up yet
    for offset in (10, 12, 13):  # 11: a transaction marker
        store.append(topic, InboxRecord(Precedence.FLASH, offset, b"x"))
    store.mark_ready(topic)
    assert store.since(topic, 9, 5) is None  # older than the window: ask Kafka
    window = store.since(topic, 11, 5)
    assert window is not None
    assert [r.offset for r in window] == [12, 13]
    store.append(topic, InboxRecord(Precedence.FLASH, 14, b"x"))  # evicts 10
    assert store.since(topic, 10, 5) is None
    window = store.since(topic, 11, 1)
    assert window is not None
    assert [r.offset for r in window] == [12]


def test_window_is_bounded_by_bytes():
    store, topic = _store(max_records=100, max_bytes=10)
    store.reset(topic, 0)
    store.mark_ready(topic)
    for offset in range(5):
        store.append(topic, InboxRecord(Precedence.FLASH, offset, b"1234"))
    assert store.window(topic).bytes <= 10
    assert store.since(topic, 2, 10) is None
    window = store.since(topic, 3, 10)
    assert window is not None
    assert [r.offset for r in window] == [3, 4]


async def test_signal_taken_before_a_read_sees_the_next_record():
    store, _ = _store()
    event = store.signal("ukr.mod")
    store.notify("ukr.mod")
    await asyncio.wait_for(event.wait(), 1)
    assert not store.signal("ukr.mod").is_set()  # a fresh event for the next wait
