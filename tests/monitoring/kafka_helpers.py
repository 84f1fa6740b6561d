"""Kafka helpers shared by the monitoring and commission integration tests (not a test module)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import codec, topics
from schemas.envelope import Envelope
from services.runtime.provision import provision

DEADLINE_S = 60.0


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


async def provision_cell(bootstrap: str, prefix: str) -> None:
    report = await provision(bootstrap, topics.fixed_specs(prefix=prefix), timeout_s=60.0)
    assert report.ok


async def feed(bootstrap: str, topic: str, items: list[Envelope | bytes]) -> None:
    """Write envelopes (keyed by entity, as the router does) or raw poison bytes."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    try:
        for item in items:
            if isinstance(item, bytes):
                await asyncio.wait_for(
                    producer.send_and_wait(topic, item, key=b"poison"), DEADLINE_S
                )
                continue
            await asyncio.wait_for(
                producer.send_and_wait(
                    topic,
                    codec.encode(item),
                    key=topics.KeyRule.ENTITY.key_for(item),
                    headers=codec.headers(item),
                ),
                DEADLINE_S,
            )
    finally:
        await asyncio.wait_for(producer.stop(), DEADLINE_S)


async def read_until(
    bootstrap: str,
    topic_names: list[str],
    done: Callable[[list[Any]], bool],
    *,
    timeout_s: float = DEADLINE_S,
) -> list[Any]:
    """Committed records of ``topic_names`` from the start, until ``done(records)`` holds."""
    consumer = AIOKafkaConsumer(
        *topic_names,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await asyncio.wait_for(consumer.start(), DEADLINE_S)
    records: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while not done(records):
            if loop.time() > deadline:
                raise AssertionError(f"condition not met on {topic_names}; got {len(records)}")
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=200), DEADLINE_S)
            for part in batch.values():
                records.extend(part)
    finally:
        await asyncio.wait_for(consumer.stop(), DEADLINE_S)
    return records


def envelopes(records: list[Any]) -> list[Envelope]:
    return [codec.decode(r.value) for r in records if r.value is not None]


async def drained(bootstrap: str, group: str, topic: str, *, timeout_s: float = DEADLINE_S) -> None:
    """Wait until ``group`` has committed every record of ``topic`` (the input is handled)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await asyncio.wait_for(consumer.start(), DEADLINE_S)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        cluster = await asyncio.wait_for(
            consumer._client.fetch_all_metadata(),
            DEADLINE_S,
        )
        numbers = sorted(cluster.partitions_for_topic(topic) or ())
        assert numbers, f"no partitions known for {topic}"
        parts = [TopicPartition(topic, n) for n in numbers]
        ends = await asyncio.wait_for(consumer.end_offsets(parts), DEADLINE_S)
        while True:
            committed = [await asyncio.wait_for(consumer.committed(tp), DEADLINE_S) for tp in parts]
            if all((c or 0) >= ends[tp] for c, tp in zip(committed, parts, strict=True)):
                return
            if loop.time() > deadline:
                raise AssertionError(f"{group} did not drain {topic}: {committed} < {ends}")
            await asyncio.sleep(0.1)
    finally:
        await asyncio.wait_for(consumer.stop(), DEADLINE_S)
