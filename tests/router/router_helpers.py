"""Shared test data and Kafka helpers for the router tests (not a test module)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import codec
from schemas.common import TrafficType
from schemas.desks import Desk, DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.liaison import LiaisonMessage
from schemas.labels import Classification, Clearance, Policy, SecurityLabel
from schemas.precedence import Precedence
from schemas.roles import Role
from schemas.topics import submit_topic

NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)

REGISTRY = DeskRegistry(
    desks=(
        Desk(
            id="usa.eucom",
            nation="USA",
            clearance=Clearance.SECRET,
            roles=frozenset({Role.FLASH, Role.MONITOR}),
        ),
        Desk(id="gbr.cell", nation="GBR", clearance=Clearance.SECRET),
        Desk(id="fra.cell", nation="FRA", clearance=Clearance.SECRET),
        Desk(
            id="ukr.mod",
            nation="UKR",
            clearance=Clearance.SECRET,
            roles=frozenset({Role.REQUESTER, Role.FLASH}),
        ),
        Desk(
            id="cell.watch",
            nation="FRA",
            clearance=Clearance.TOP_SECRET,
            roles=frozenset({Role.WATCH, Role.FLASH}),
        ),
        Desk(id="deu.cell", nation="DEU", clearance=Clearance.RESTRICTED),
        Desk(id="pol.train", nation="POL", clearance=Clearance.SECRET, exercise_only=True),
    )
)


def label(
    *nations: str, classification: Classification = Classification.NATO_RESTRICTED
) -> SecurityLabel:
    return SecurityLabel(
        policy=Policy.NATO,
        classification=classification,
        releasable_to=tuple(nations),
        created_at=NOW,
    )


def envelope(
    originator: str,
    action_to: Sequence[str],
    *,
    info_to: Sequence[str] = (),
    precedence: Precedence = Precedence.ROUTINE,
    rel_to: Sequence[str] = ("USA", "GBR", "FRA", "UKR", "DEU", "POL"),
    message_id: uuid.UUID | None = None,
    **fields: Any,
) -> Envelope:
    now = datetime.now(UTC)
    body = fields.pop("body", None) or LiaisonMessage(text="hello")
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        traffic_type=fields.pop("traffic_type", TrafficType.OPERATION),
        originator=originator,
        action_to=tuple(action_to),
        info_to=tuple(info_to),
        primary_precedence=precedence,
        copy_precedence=fields.pop("copy_precedence", precedence),
        label=fields.pop("label", None) or label(*rel_to),
        subject="test",
        created_at=now - timedelta(seconds=1),
        released_at=now,
        body=body,
        **fields,
    )


async def submit(producer: AIOKafkaProducer, prefix: str, *envelopes: Envelope) -> None:
    futures = [
        await producer.send(
            submit_topic(env.primary_precedence, prefix=prefix),
            value=codec.encode(env),
            key=env.originator.encode(),
            headers=codec.headers(env),
        )
        for env in envelopes
    ]
    await asyncio.wait_for(asyncio.gather(*futures), 60)


async def read(
    bootstrap: str,
    topics: Sequence[str],
    *,
    until: Callable[[list[Any]], bool],
    timeout_s: float = 60.0,
) -> list[Any]:
    """Every committed record of ``topics`` from the start, once ``until(records)`` holds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await _partitions(consumer, topic))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
            if until(records):
                return records
        raise AssertionError(f"condition not met within {timeout_s}s; {len(records)} records read")
    finally:
        await asyncio.wait_for(consumer.stop(), 30)


async def read_to_end(bootstrap: str, topics: Sequence[str]) -> list[Any]:
    """Every committed record of ``topics`` up to their current last stable offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await _partitions(consumer, topic))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            assert loop.time() < deadline, "topics not read to the end within 60s"
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await asyncio.wait_for(consumer.stop(), 30)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    cluster = await consumer._client.fetch_all_metadata()
    return cluster.partitions_for_topic(topic) or set()
