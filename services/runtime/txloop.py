"""Consume-transform-produce, exactly once: one Kafka transaction per consumed batch.

A session starts the transactional producer (its stable id fences a predecessor), replays
the service's state topic into a fresh handler, then consumes the input topic in a consumer
group. Each batch's outputs (state snapshots, envelopes for the submit lanes, dead letters)
and the input offsets commit together. Any Kafka error ends the session: clients close, the
in-memory state is dropped, and the next session rebuilds it from the state topic and
resumes from the committed offsets. A periodic ``tick`` (deadline checks) runs under the
same lock and commits its outputs the same way.

One active instance per service: a service's state (incidents, cases, requests, orders) is
global, so the transactional id is per service (``<prefix><group>``) and a second instance
fences the first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import TopicPartition

from schemas import codec
from schemas.topics import DEADLETTER
from services.runtime import canonical, kafka, metrics, sessions, transaction
from services.runtime.deadletter import SourceRecord
from services.runtime.errors import BrokerUnavailable
from services.runtime.lifecycle import TaskGroupOwner, wait_or_stop
from services.runtime.logging import get_logger
from services.runtime.outbox import Output
from services.runtime.settings import CommonSettings
from services.runtime.statefeed import replay

log = get_logger(__name__)
_REJECTED = b"notify.rejected"  # HEADER_KIND of ActionRejected


class Handler(Protocol):
    def load(self, key: bytes, value: bytes | None) -> None: ...
    def handle(self, record: SourceRecord, now: datetime) -> list[Output]: ...
    def tick(self, now: datetime) -> list[Output]: ...


class LoopConfig(Protocol):
    """The settings a transactional worker reads (every service settings class has them)."""

    @property
    def group_id(self) -> str: ...
    @property
    def poll_timeout_ms(self) -> int: ...
    @property
    def batch_max_records(self) -> int: ...
    @property
    def state_catchup_timeout_s(self) -> float: ...
    @property
    def tick_interval_s(self) -> float: ...


async def run_loop(
    settings: Any,  # noqa: ANN401 - a CommonSettings subclass that also satisfies LoopConfig
    stop: asyncio.Event,
    *,
    name: str,
    input_topic: str,
    state_topic: str,
    make_handler: Callable[[], Handler],
) -> None:
    """Run sessions until ``stop``; a failed session is rebuilt from Kafka, never patched."""
    metrics.serve(settings.metrics_port)

    async def session(stop: asyncio.Event) -> None:
        await _Session(settings, name, input_topic, state_topic, make_handler()).run(stop)

    await sessions.supervise(session, stop, component=name, event="session_failed")


class _Session:
    def __init__(
        self,
        settings: Any,  # noqa: ANN401 - see run_loop
        name: str,
        input_topic: str,
        state_topic: str,
        handler: Handler,
    ) -> None:
        self.settings: CommonSettings = settings
        self.loop_config: LoopConfig = settings
        self.name, self.input_topic, self.state_topic = name, input_topic, state_topic
        self.handler = handler
        self.group = f"{settings.topic_prefix}{settings.group_id}"
        self.timeout_s = settings.kafka_timeout_s * 3
        self.lock = asyncio.Lock()
        self.producer: Any = None
        self.lag = metrics.LagTracker(name)
        self.dead_letter_topic = f"{settings.topic_prefix}{DEADLETTER}"

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.loop_config
        async with AsyncExitStack() as stack:
            tasks = TaskGroupOwner()
            stack.push_async_callback(tasks.aclose)
            self.producer = kafka.producer(
                self.settings, client_id=f"cell-{self.name}", transactional_id=self.group
            )
            await kafka.start_with_retry(
                self.producer,
                what=f"{self.name} producer",
                stop=stop,
                timeout_s=cfg.state_catchup_timeout_s,
            )
            stack.push_async_callback(self._stop_client, self.producer)
            applied = await replay(
                self.settings,
                self.state_topic,
                self.handler.load,
                stop=stop,
                timeout_s=cfg.state_catchup_timeout_s,
                client_id=f"cell-{self.name}-state",
            )
            log.info("state_replayed", component=self.name, topic=self.state_topic, records=applied)
            consumer = kafka.consumer(
                self.settings, self.input_topic, group_id=self.group, client_id=f"cell-{self.name}"
            )
            await kafka.start_with_retry(
                consumer, what=f"{self.name} consumer", stop=stop, timeout_s=self.timeout_s
            )
            stack.push_async_callback(self._stop_client, consumer)
            ticker = tasks.spawn(self._tick_loop(stop), name=f"{self.name}-tick")
            log.info("service_started", component=self.name, group=self.group)
            while not stop.is_set():
                if ticker.done():
                    ticker.result()
                    raise BrokerUnavailable(f"{self.name} tick loop ended")
                batch = await asyncio.wait_for(
                    consumer.getmany(
                        timeout_ms=cfg.poll_timeout_ms, max_records=cfg.batch_max_records
                    ),
                    self.timeout_s,
                )
                if batch:
                    await self._handle(batch)
                await self.lag.update(consumer, self.timeout_s)

    async def _stop_client(self, client: Any) -> None:  # noqa: ANN401 - aiokafka is untyped
        await kafka.stop_client(client, self.timeout_s)

    async def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        async with self.lock:
            now = datetime.now(UTC)
            outputs: list[Output] = []
            offsets: dict[TopicPartition, int] = {}
            handled: list[tuple[Any, float, str]] = []  # record, decision seconds, outcome
            try:
                for tp, records in batch.items():
                    for record in records:
                        started = time.perf_counter()
                        produced = self.handler.handle(record, now)
                        elapsed = time.perf_counter() - started
                        handled.append((record, elapsed, self._outcome(produced)))
                        outputs.extend(produced)
                    if records:
                        offsets[tp] = records[-1].offset + 1
                started = time.perf_counter()
                await self._commit(outputs, offsets)
            except BaseException:
                metrics.observe_failed(self.name, sum(len(r) for r in batch.values()))
                raise
            committed = time.perf_counter() - started
            done = datetime.now(UTC)
            for record, elapsed, outcome in handled:
                canonical.handled(
                    self.name,
                    record,
                    facts=canonical.facts(record),
                    duration_s=elapsed + committed,
                    outcome=outcome,
                    now=done,
                )

    def _outcome(self, produced: list[Output]) -> str:
        """``dead_lettered``, ``refused`` (an ActionRejected to the sender) or ``handled``."""
        if any(out.topic == self.dead_letter_topic for out in produced):
            return "dead_lettered"
        for out in produced:
            if any(k == codec.HEADER_KIND and v == _REJECTED for k, v in out.headers):
                return "refused"
        return "handled"

    async def _tick_loop(self, stop: asyncio.Event) -> None:
        while not await wait_or_stop(stop, self.loop_config.tick_interval_s):
            async with self.lock:
                outputs = self.handler.tick(datetime.now(UTC))
                if outputs:
                    await self._commit(outputs, {})

    async def _commit(self, outputs: list[Output], offsets: dict[TopicPartition, int]) -> None:
        await transaction.commit(
            self.producer, outputs, offsets=offsets, group=self.group, timeout_s=self.timeout_s
        )
