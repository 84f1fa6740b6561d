"""A higher lane preempts a lower lane's batch: chunks, rewinds, and nothing lost or repeated."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from router_cell import Cell
from router_helpers import envelope, read, submit

from schemas import codec
from schemas.precedence import Precedence
from schemas.topics import submit_topic
from services.router.lanes import LaneScheduler

pytestmark = pytest.mark.integration

BACKLOG = 2_000
CHUNK = 25


def _transactions(records: list[Any]) -> list[list[Any]]:
    """Committed records grouped by transaction: a commit marker takes one offset in between."""
    groups: list[list[Any]] = []
    for record in records:
        if groups and record.offset == groups[-1][-1].offset + 1:
            groups[-1].append(record)
        else:
            groups.append([record])
    return groups


async def test_routine_commits_in_chunks_behind_a_flash(cell: Cell) -> None:
    # One fetch and one batch could hold the whole backlog; only the preemption cuts it.
    backlog = [envelope("gbr.cell", ["deu.cell"]) for _ in range(BACKLOG)]
    flash = envelope("usa.eucom", ["gbr.cell"], precedence=Precedence.FLASH)
    await submit(cell.producer, cell.prefix, *backlog)
    await submit(cell.producer, cell.prefix, flash)
    cell.start_router(
        batch_max_records=10_000,
        fetch_partition_bytes=16 * 1024 * 1024,
        preempt_chunk_records=CHUNK,
    )
    inbox = cell.inbox("deu.cell", "routine")
    got = await read(cell.bootstrap, [inbox], until=lambda rs: len(rs) >= BACKLOG)
    order = [plan.message_id for _, plan in cell.routed]
    assert order[0] == str(flash.message_id)
    # Every ROUTINE exactly once and in submission order, across the rewinds.
    ids = [str(codec.decode(r.value).message_id) for r in got]
    assert ids == [str(e.message_id) for e in backlog]
    assert order[1:] == ids
    # Right after the FLASH the lane commits in chunks, not in one batch of everything fetched.
    sizes = [len(group) for group in _transactions(got)]
    assert sizes[0] <= CHUNK, sizes[:5]
    assert len(sizes) > 1


async def test_scheduler_sees_a_higher_lane_and_rewinds(cell: Cell) -> None:
    routine = [envelope("gbr.cell", ["deu.cell"]) for _ in range(50)]
    await submit(cell.producer, cell.prefix, *routine)
    topics = [submit_topic(lane, prefix=cell.prefix) for lane in Precedence]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=cell.bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        parts = await asyncio.wait_for(consumer._client.fetch_all_metadata(), 30)
        tps = [TopicPartition(t, p) for t in topics for p in parts.partitions_for_topic(t) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        scheduler = LaneScheduler(consumer, prefix=cell.prefix, max_records=500, poll_ms=200)
        first: dict[TopicPartition, list[Any]] = {}
        while sum(len(rs) for rs in first.values()) < len(routine):
            for tp, records in (await asyncio.wait_for(scheduler.next_batch(), 30)).items():
                first.setdefault(tp, []).extend(records)
        assert not await scheduler.preempted(Precedence.ROUTINE)

        await submit(
            cell.producer,
            cell.prefix,
            envelope("usa.eucom", ["gbr.cell"], precedence=Precedence.FLASH),
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not await scheduler.preempted(Precedence.ROUTINE):
            assert loop.time() < deadline, "the FLASH backlog was never seen"
            await asyncio.sleep(0.02)
        assert not await scheduler.preempted(Precedence.FLASH)

        # Handing ROUTINE back: the FLASH comes first, then the same records again.
        ((tp, records),) = first.items()
        scheduler.rewind(tp, records[0].offset)
        again: list[Any] = []
        lanes: list[Precedence] = []
        while len(again) < len(records):
            batch = await asyncio.wait_for(scheduler.next_batch(), 30)
            lanes.extend(scheduler.lane_of[t.topic] for t in batch)
            again.extend(r for t, rs in batch.items() if t == tp for r in rs)
        assert lanes[0] is Precedence.FLASH
        assert [r.offset for r in again] == [r.offset for r in records]
    finally:
        await asyncio.wait_for(consumer.stop(), 30)
