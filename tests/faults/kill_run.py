"""Run one domain service through its scenario as a subprocess, killing it twice on the way.

``kill_run`` provisions a cell (the scenario's desks only), starts ``python -m
services.<name>``, writes the inputs to its domain topic in four parts and SIGKILLs it twice:
right after the second part is written, and while the fourth is handled (as soon as its first
transaction is visible). The third part arrives while it is down. A poison sentinel on the
scenario's partition comes last; the run ends once it is dead-lettered and every topic read
is read to its end. ``Watch`` readers stay open through the kills, ``read_committed``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fault_cell import FaultCell, Proc

from deploy.kafka.launcher import KafkaCluster
from schemas import codec, topics
from schemas.desks import DeskRegistry
from schemas.envelope import Envelope
from services.runtime.deadletter import HEADER_REASON

DEADLINE_S = 60.0
ENV = {"CELL_LOG_LEVEL": "INFO", "CELL_POLL_TIMEOUT_MS": "100", "CELL_BATCH_MAX_RECORDS": "2"}


class Watch:
    """Every committed record of some topics, from the start, read by one long-lived consumer."""

    def __init__(self, bootstrap: str, names: list[str]) -> None:
        self.bootstrap, self.names = bootstrap, names
        self.records: list[Any] = []
        self._consumer: Any = None
        self._tps: list[TopicPartition] = []

    async def __aenter__(self) -> Self:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        await asyncio.wait_for(self._consumer.start(), DEADLINE_S)
        cluster = await asyncio.wait_for(self._consumer._client.fetch_all_metadata(), DEADLINE_S)
        self._tps = [
            TopicPartition(t, p)
            for t in self.names
            for p in sorted(cluster.partitions_for_topic(t))
        ]
        self._consumer.assign(self._tps)
        await asyncio.wait_for(self._consumer.seek_to_beginning(*self._tps), DEADLINE_S)
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.wait_for(self._consumer.stop(), DEADLINE_S)

    async def until(
        self, done: Callable[[list[Any]], bool], *, to_end: bool = False, timeout_s: float = 120
    ) -> list[Any]:
        """Read until ``done`` holds (and, with ``to_end``, every partition is read to its end)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            batch = await asyncio.wait_for(self._consumer.getmany(timeout_ms=50), DEADLINE_S)
            self.records.extend(r for part in batch.values() for r in part)
            if done(self.records):
                if not to_end:
                    return self.records
                ends = await asyncio.wait_for(self._consumer.end_offsets(self._tps), DEADLINE_S)
                if all([await self._consumer.position(tp) >= ends[tp] for tp in self._tps]):
                    return self.records
            assert loop.time() < deadline, f"{self.names}: not reached ({len(self.records)} read)"


async def produce(bootstrap: str, topic: str, items: list[Envelope | bytes], key: bytes) -> None:
    """Envelopes keyed by entity, as the router writes them; raw bytes under ``key``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    try:
        for item in items:
            if isinstance(item, bytes):
                sent = producer.send_and_wait(topic, item, key=key)
            else:
                sent = producer.send_and_wait(
                    topic,
                    codec.encode(item),
                    key=topics.KeyRule.ENTITY.key_for(item),
                    headers=codec.headers(item),
                )
            await asyncio.wait_for(sent, DEADLINE_S)
    finally:
        await asyncio.wait_for(producer.stop(), DEADLINE_S)


@dataclass
class Run:
    """What a killed-and-restarted run committed, and how the kills fell."""

    states: list[Any]  # decoded snapshots of the scenario's entity, in order
    out: list[Envelope]  # every envelope on the submit lanes
    letters: list[bytes | None]  # dead-letter reasons
    kills: list[str] = field(default_factory=list)

    def history(self) -> list[uuid.UUID]:
        return [h.message_id for h in self.states[-1].history] if self.states else []


async def kill_run(
    cluster: KafkaCluster,
    tmp_path: Path,
    *,
    service: str,
    state: str,
    registry: DeskRegistry,
    steps: list[Envelope],
    accepted: set[uuid.UUID],
    decode: Callable[[bytes], Any],
    env: dict[str, str] | None = None,
) -> Run:
    cell = FaultCell(cluster.bootstrap, tmp_path / "cell", registry=registry)
    await cell.provision()
    bootstrap, prefix = cell.bootstrap, cell.prefix
    domain = topics.domain_topic(service, prefix=prefix)
    state_topic = topics.state_topic(state, prefix=prefix)
    key = topics.KeyRule.ENTITY.key_for(steps[0]) or b""
    sentinel = b"\x00sentinel " + uuid.uuid4().bytes
    warm, written, down, batch, rest = (
        steps[:2],
        steps[2:4],
        steps[4:5],
        steps[5:-2],
        steps[-2:],
    )

    def snapshots(records: list[Any]) -> list[Any]:
        return [decode(r.value) for r in records if r.key == key and r.value is not None]

    def applied(*message_ids: uuid.UUID) -> Callable[[list[Any]], bool]:
        wanted = set(message_ids) & accepted
        return lambda rs: wanted <= {h.message_id for s in snapshots(rs) for h in s.history}

    def committed(part: list[Envelope]) -> str:
        """How many of ``part``'s accepted inputs the state shows, e.g. ``1/4``."""
        mine = [s.message_id for s in part if s.message_id in accepted]
        return f"{sum(applied(m)(states.records) for m in mine)}/{len(mine)}"

    def start() -> Proc:
        return cell.spawn(f"services.{service}", **(ENV | (env or {})))  # type: ignore[arg-type]

    kills = []
    try:
        async with (
            Watch(bootstrap, [state_topic]) as states,
            Watch(bootstrap, [f"{prefix}{topics.DEADLETTER}"]) as letters,
            Watch(bootstrap, cell.submit_topics()) as submits,
        ):
            proc = start()
            await produce(bootstrap, domain, list(warm), key)
            await states.until(applied(*(s.message_id for s in warm)))
            await produce(bootstrap, domain, list(written), key)
            await proc.kill9()  # right after two inputs are written
            await states.until(lambda _: True, to_end=True)
            kills.append(f"right after writing inputs 3-4 ({committed(written)} committed)")
            await produce(bootstrap, domain, list(down), key)  # arrives while it is down
            proc = start()
            await produce(bootstrap, domain, list(batch), key)
            first = next(s.message_id for s in batch if s.message_id in accepted)
            await states.until(applied(first))
            await proc.kill9()  # while the rest of the batch is handled
            await states.until(lambda _: True, to_end=True)
            kills.append(f"mid-batch of inputs 6-{5 + len(batch)} ({committed(batch)} committed)")
            proc = start()
            await produce(bootstrap, domain, [*rest, sentinel], key)
            await letters.until(lambda rs: any(r.value == sentinel for r in rs), timeout_s=180)
            await states.until(applied(*(s.message_id for s in rest)), to_end=True)
            await submits.until(lambda _: True, to_end=True)
            await letters.until(lambda _: True, to_end=True)
            assert await proc.stop() == 0, proc.log_tail()
    finally:
        await cell.stop_all()
    return Run(
        states=snapshots(states.records),
        out=[codec.decode(r.value) for r in submits.records if r.value is not None],
        letters=[dict(r.headers or ()).get(HEADER_REASON) for r in letters.records],
        kills=kills,
    )
