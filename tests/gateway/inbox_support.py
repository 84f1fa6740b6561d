"""Test support for the receive half: writes inbox copies and audit records the way the
router does (transactionally), so the gateway reads them read_committed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from schemas import codec
from schemas.audit import AuditRecord, Decision, encode_audit
from schemas.common import TrafficType
from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from schemas.kinds.liaison import LiaisonMessage
from schemas.labels import Classification, Policy, SecurityLabel
from schemas.precedence import Precedence
from schemas.topics import AUDIT, inbox_topic
from services.runtime import kafka
from services.runtime.settings import CommonSettings

DEADLINE_S = 30.0


def envelope(
    *,
    originator: str = "usa.eucom",
    to: Sequence[str] = ("ukr.gs",),
    info: Sequence[str] = (),
    precedence: Precedence = Precedence.ROUTINE,
    text: str = "Liaison check",
) -> Envelope:
    now = datetime.now(UTC)
    label = SecurityLabel(
        policy=Policy.NATO,
        classification=Classification.NATO_RESTRICTED,
        releasable_to=("USA", "UKR", "FRA", "NLD"),
        created_at=now,
    )
    return Envelope(
        message_id=uuid.uuid4(),
        traffic_type=TrafficType.OPERATION,
        originator=originator,
        action_to=tuple(to),
        info_to=tuple(info),
        primary_precedence=precedence,
        copy_precedence=precedence,
        label=label,
        subject=f"{precedence.value} liaison",
        created_at=now,
        released_at=now,
        body=LiaisonMessage(text=text),
    )


class RouterStandIn:
    """A transactional producer writing where the router would."""

    def __init__(self, producer: Any, settings: CommonSettings, registry: DeskRegistry) -> None:
        self._producer = producer
        self._settings = settings
        self._registry = registry

    def topic(self, desk_id: str, lane: Precedence) -> str:
        desk = self._registry.get(desk_id)
        assert desk is not None
        return inbox_topic(desk, lane, prefix=self._settings.topic_prefix)

    async def deliver(
        self, desk_id: str, envelopes: Sequence[Envelope], lane: Precedence | None = None
    ) -> list[tuple[str, int]]:
        """Write inbox copies in one transaction; returns (topic, offset) of each."""
        futures = []
        async with asyncio.timeout(DEADLINE_S):
            async with self._producer.transaction():
                for env in envelopes:
                    topic = self.topic(desk_id, lane or env.primary_precedence)
                    futures.append(
                        (
                            topic,
                            await self._producer.send(
                                topic,
                                value=codec.encode(env),
                                key=str(env.message_id).encode(),
                                headers=codec.headers(env),
                            ),
                        )
                    )
        return [(topic, (await future).offset) for topic, future in futures]

    async def audit(self, records: Sequence[AuditRecord]) -> None:
        topic = f"{self._settings.topic_prefix}{AUDIT}"
        async with asyncio.timeout(DEADLINE_S), self._producer.transaction():
            for record in records:
                await self._producer.send(
                    topic, value=encode_audit(record), key=str(record.message_id).encode()
                )


@asynccontextmanager
async def router_stand_in(
    settings: CommonSettings, registry: DeskRegistry
) -> AsyncIterator[RouterStandIn]:
    producer = kafka.producer(
        settings, client_id="test-router", transactional_id=f"test-router-{uuid.uuid4().hex}"
    )
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    try:
        yield RouterStandIn(producer, settings, registry)
    finally:
        await asyncio.wait_for(producer.stop(), DEADLINE_S)


def delivered(
    env: Envelope, recipient: str, topic: str, offset: int, lane: Precedence | None = None
) -> AuditRecord:
    return AuditRecord(
        message_id=env.message_id,
        originator=env.originator,
        decision=Decision.DELIVERED,
        at=datetime.now(UTC),
        kind=env.kind,
        precedence=lane or env.primary_precedence,
        recipient=recipient,
        inbox_topic=topic,
        partition=0,
        offset=offset,
    )


async def read_at(settings: CommonSettings, topic: str, partition: int, offset: int) -> Any:
    consumer = kafka.consumer(settings, group_id=None, client_id="test-read-back")
    await asyncio.wait_for(consumer.start(), DEADLINE_S)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=int(DEADLINE_S * 1000), max_records=1)
        records = batch.get(tp, [])
        assert records, f"nothing at {topic}[{partition}]@{offset}"
        return records[0]
    finally:
        await asyncio.wait_for(consumer.stop(), DEADLINE_S)
