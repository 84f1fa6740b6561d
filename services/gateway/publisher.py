"""Publishing submissions to the submit lanes, acknowledged only when durable.

Two producers, both idempotent with ``acks=all``:

- ``flash`` carries only the FLASH lane, with no linger. aiokafka keeps one produce request
  in flight per broker connection; a producer shared with a ROUTINE backlog would make a
  FLASH record wait for that backlog's request round trips. Its own producer gives FLASH its
  own connections, accumulator and in-flight slot.
- ``bulk`` carries IMMEDIATE, PRIORITY and ROUTINE. They already sit on separate topics, so
  their batches never share a partition; one producer keeps the connection count small.

A producer is started lazily (the gateway serves health, docs and 503s while Kafka is
down) and discarded when its sender task has died (aiokafka #1017) or after an ambiguous
timeout, when its idempotence sequence state can no longer be trusted; the next publish
builds a fresh one. A record that timed out may still land later: the client retries with
the ``message_id`` the 503 names and the router de-duplicates on (originator, message id).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from msgspec import Struct

from schemas import codec
from schemas.envelope import Envelope
from schemas.precedence import Precedence
from schemas.topics import KeyRule, submit_topic
from services.gateway.metrics import GatewayMetrics
from services.gateway.settings import GatewaySettings
from services.runtime import kafka
from services.runtime.errors import BrokerUnavailable, CellError
from services.runtime.logging import get_logger

log = get_logger(__name__)

FLASH, BULK = "flash", "bulk"


class Published(Struct, frozen=True, kw_only=True):
    topic: str
    partition: int
    offset: int


class RecordTooLarge(CellError):
    code = "record_too_large"
    status = 413


class Producer(Protocol):
    """The part of aiokafka's (untyped) AIOKafkaProducer this module uses."""

    client: Any  # AIOKafkaClient: metadata round trips for readiness, teardown
    _sender: Any  # its sender task dies on some errors (aiokafka #1017)

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def send(
        self, topic: str, *, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[Any]: ...


def _sender_dead(producer: Producer) -> bool:
    sender = getattr(producer, "_sender", None)
    task = None if sender is None else sender.sender_task
    return task is not None and task.done()


async def _close(producer: Producer, timeout_s: float) -> None:
    """Stop a producer; if pending batches cannot flush in time, tear it down anyway."""
    try:
        await asyncio.wait_for(producer.stop(), timeout_s)
    except (TimeoutError, KafkaError, OSError):
        # No broker to flush to: cancel the sender (which fails the pending futures) and
        # close the connections, so nothing is left running or unclosed.
        sender = getattr(producer, "_sender", None)
        with contextlib.suppress(TimeoutError, KafkaError, OSError):
            if sender is not None:
                await asyncio.wait_for(sender.close(), timeout_s)
            await asyncio.wait_for(producer.client.close(), timeout_s)


class _Closer:
    """Owns the tasks closing discarded producers; ``aclose`` lets them finish."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._tasks: set[asyncio.Task[None]] = set()

    def close_later(self, producer: Producer, name: str) -> None:
        task = asyncio.create_task(_close(producer, self._timeout_s), name=f"close-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._tasks:
            # Each close is bounded by its own deadlines (twice: stop, then teardown).
            await asyncio.wait(set(self._tasks), timeout=3 * self._timeout_s)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Slot:
    """One producer, started on first use and rebuilt after it fails."""

    def __init__(
        self,
        name: str,
        factory: Callable[[], Producer],
        closer: _Closer,
        metrics: GatewayMetrics,
        close_timeout_s: float,
    ) -> None:
        self.name = name
        self._factory = factory
        self._closer = closer
        self._metrics = metrics
        self._close_timeout_s = close_timeout_s
        self._producer: Producer | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Producer:
        """The running producer; callers bound this with their deadline."""
        producer = self._producer
        if producer is not None and not _sender_dead(producer):
            return producer
        async with self._lock:
            if self._producer is not None and _sender_dead(self._producer):
                self.discard(self._producer, "sender_dead")
            if self._producer is None:
                producer = self._factory()
                try:
                    await producer.start()
                except BaseException:
                    self._closer.close_later(producer, self.name)
                    raise
                self._producer = producer
                log.info("producer_started", producer=self.name)
            return self._producer

    def discard(self, producer: Producer, reason: str) -> None:
        if self._producer is not producer:
            return  # already replaced by a concurrent failure
        self._producer = None
        self._metrics.producer_rebuilds.labels(self.name).inc()
        log.warning("producer_discarded", producer=self.name, reason=reason)
        self._closer.close_later(producer, self.name)

    async def aclose(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await _close(producer, self._close_timeout_s)


class Publisher:
    """Sends envelopes to their submit lane and returns their Kafka position."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        close_s = settings.publish_deadline_s
        self._closer = _Closer(close_s)
        # Metric children looked up once, not with ``.labels()`` per message (bench profile).
        # Records awaiting their acknowledgement, per producer; the gauges read them at
        # scrape time instead of two locked updates per record.
        self._awaiting = dict.fromkeys((FLASH, BULK), 0)
        for name in (FLASH, BULK):
            metrics.queue_depth.labels(f"publish.{name}").set_function(
                functools.partial(self._awaiting.__getitem__, name)
            )
        self._topics = {p: submit_topic(p, prefix=settings.topic_prefix) for p in Precedence}
        self._latency = {p: metrics.publish_seconds.labels(p.value) for p in Precedence}
        self._published = {p: metrics.published.labels(p.value) for p in Precedence}
        self._slots = {
            FLASH: _Slot(
                FLASH,
                lambda: kafka.producer(settings, client_id="gateway-flash", linger_ms=0),
                self._closer,
                metrics,
                close_s,
            ),
            BULK: _Slot(
                BULK,
                lambda: kafka.producer(settings, client_id="gateway-bulk"),
                self._closer,
                metrics,
                close_s,
            ),
        }

    def topic_for(self, precedence: Precedence) -> str:
        return self._topics[precedence]

    def _slot_for(self, precedence: Precedence) -> _Slot:
        return self._slots[FLASH if precedence is Precedence.FLASH else BULK]

    async def publish(self, envelope: Envelope, *, traceparent: str | None = None) -> Published:
        (result,) = await self.publish_many([envelope], traceparent=traceparent)
        if isinstance(result, CellError):
            raise result
        return result

    async def publish_many(
        self, envelopes: Sequence[Envelope], *, traceparent: str | None = None
    ) -> list[Published | CellError]:
        """Publish all, wait for every acknowledgement within one deadline.

        Returns a result per envelope, in order: its position, or the error that stopped it
        (``BrokerUnavailable`` when Kafka did not acknowledge within the deadline).
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + self._settings.publish_deadline_s
        results: list[Published | CellError | None] = [None] * len(envelopes)
        pending: dict[asyncio.Future[Any], tuple[int, _Slot, Producer, float]] = {}
        for index, envelope in enumerate(envelopes):
            slot = self._slot_for(envelope.primary_precedence)
            started = loop.time()
            try:
                # The request's one deadline as a timeout scope: ``wait_for`` would wrap each
                # of these awaits in a task of its own, a third of a batch's CPU (bench).
                async with asyncio.timeout_at(end):
                    producer = await slot.get()
                    future = await producer.send(
                        self.topic_for(envelope.primary_precedence),
                        value=codec.encode(envelope),
                        key=KeyRule.ORIGINATOR.key_for(envelope),
                        headers=codec.headers(envelope, traceparent=traceparent),
                    )
            except MessageSizeTooLargeError as exc:
                results[index] = RecordTooLarge(f"the message is too large for Kafka: {exc}")
            except (TimeoutError, KafkaError, OSError) as exc:
                results[index] = self._unavailable(envelope, exc)
            else:
                pending[future] = (index, slot, producer, started)
        await self._collect(pending, results, envelopes, end)
        return [
            r if r is not None else self._unavailable(envelopes[i], None)
            for i, r in enumerate(results)
        ]

    async def _collect(
        self,
        pending: dict[asyncio.Future[Any], tuple[int, _Slot, Producer, float]],
        results: list[Published | CellError | None],
        envelopes: Sequence[Envelope],
        end: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        awaiting = self._awaiting
        for _, slot, _, _ in pending.values():
            awaiting[slot.name] += 1
        try:
            if pending:
                await asyncio.wait(pending, timeout=max(0.0, end - loop.time()))
        finally:
            for _, slot, _, _ in pending.values():
                awaiting[slot.name] -= 1
        for future, (index, slot, producer, started) in pending.items():
            envelope = envelopes[index]
            precedence = envelope.primary_precedence
            if not future.done():
                future.cancel()  # only our wait: the record may still be delivered
                slot.discard(producer, "ambiguous_timeout")
                results[index] = self._unavailable(envelope, TimeoutError())
            elif future.cancelled() or future.exception() is not None:
                if _sender_dead(producer):
                    slot.discard(producer, "sender_dead")
                results[index] = self._unavailable(
                    envelope, None if future.cancelled() else future.exception()
                )
            else:
                metadata = future.result()
                self._latency[precedence].observe(loop.time() - started)
                self._published[precedence].inc()
                results[index] = Published(
                    topic=metadata.topic, partition=metadata.partition, offset=metadata.offset
                )

    def _unavailable(self, envelope: Envelope, exc: BaseException | None) -> BrokerUnavailable:
        self._metrics.publish_failures.labels(envelope.primary_precedence.value).inc()
        log.warning(
            "publish_failed",
            message_id=str(envelope.message_id),
            precedence=envelope.primary_precedence.value,
            error=repr(exc) if exc is not None else "not acknowledged",
        )
        deadline = self._settings.publish_deadline_s
        return BrokerUnavailable(f"Kafka did not acknowledge the message within {deadline:g}s")

    async def missing_topics(self, topics: Sequence[str], timeout_s: float) -> list[str]:
        """Which of ``topics`` the cluster lacks; ``BrokerUnavailable`` when unreachable."""

        async def check() -> list[str]:
            producer = await self._slots[BULK].get()
            metadata = await producer.client.fetch_all_metadata()
            present = metadata.topics()
            return [topic for topic in topics if topic not in present]

        try:
            return await asyncio.wait_for(check(), timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"Kafka not reachable: {exc!r}") from exc

    async def aclose(self) -> None:
        for slot in self._slots.values():
            await slot.aclose()
        await self._closer.aclose()
