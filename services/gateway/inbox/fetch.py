"""Catch-up reads: a small pool of consumers for cursors older than the in-memory window.

The pool holds at most ``size`` consumers (started lazily, kept for the life of the app,
read_committed, no group, manual assignment). A read borrows one, assigns the one lane
partition, seeks, reads up to the requested count or the lane's committed end, and gives
it back; a request that finds every consumer busy waits its turn within its deadline. So
the number of Kafka clients is fixed however many requests arrive. A read that starts where
an idle consumer's last read of the same lane stopped (a stream catching up page by page)
gets that consumer, which keeps its position and what it has prefetched: no seek, no offset
lookups while its last fetch showed more committed records, the next page is mostly in
memory already.

Offsets below the log start (retention) are clamped to it: the desk gets what is still
retained. Records that do not decode as an envelope are skipped and logged (the router
only writes valid envelopes; a reader must not wedge on one bad record).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from schemas import codec
from schemas.precedence import Precedence
from services.gateway.inbox.lanes import InboxRecord
from services.runtime import kafka
from services.runtime.errors import BrokerUnavailable
from services.runtime.kafka import stop_client
from services.runtime.logging import get_logger
from services.runtime.settings import CommonSettings

log = get_logger(__name__)

_POLL_MS = 200


def to_record(lane: Precedence, message: Any) -> InboxRecord | None:  # noqa: ANN401 - aiokafka
    """An aiokafka record as an InboxRecord, or None when it is not a valid envelope."""
    value = message.value
    if value is None:
        return None
    try:
        codec.decode(value)
    except codec.DecodeError as exc:
        log.warning(
            "inbox_record_skipped",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            error=exc.message,
            path=exc.path,
        )
        return None
    return InboxRecord(lane, message.offset, bytes(value))


class CatchUpPool:
    def __init__(self, settings: CommonSettings, *, size: int) -> None:
        self._settings = settings
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(size)
        self._all: list[Any] = []
        self._count = 0
        # id(consumer) -> (lane partition, next offset) after its last complete read
        self._at: dict[int, tuple[TopicPartition, int]] = {}

    @contextlib.asynccontextmanager
    async def _borrow(self, at: tuple[TopicPartition, int] | None = None) -> AsyncIterator[Any]:
        async with self._slots:
            consumer = self._take_idle(at)
            if consumer is None:
                self._count += 1
                consumer = kafka.consumer(
                    self._settings, group_id=None, client_id=f"gateway-inbox-catchup-{self._count}"
                )
                try:
                    await kafka.start_bounded(consumer, self._settings.kafka_timeout_s)
                except BaseException:
                    await stop_client(consumer, self._settings.kafka_timeout_s)
                    raise
                self._all.append(consumer)
            healthy = False
            try:
                yield consumer
                healthy = True
            finally:
                if healthy:
                    self._idle.append(consumer)
                else:  # state unknown after a failure or a cancelled read: drop it
                    self._at.pop(id(consumer), None)
                    self._all.remove(consumer)
                    await stop_client(consumer, self._settings.kafka_timeout_s)

    def _take_idle(self, at: tuple[TopicPartition, int] | None) -> Any:  # noqa: ANN401
        """The idle consumer left at ``at`` if any, else the one idle longest, else None."""
        if not self._idle:
            return None
        for i, consumer in enumerate(self._idle):
            if at is not None and self._at.get(id(consumer)) == at:
                return self._idle.pop(i)
        consumer = self._idle.pop(0)
        self._at.pop(id(consumer), None)
        return consumer

    async def read(self, topic: str, lane: Precedence, start: int, limit: int) -> list[InboxRecord]:
        """Up to ``limit`` committed records of ``topic`` (one partition) from ``start``."""
        timeout_s = self._settings.kafka_timeout_s
        try:
            return await asyncio.wait_for(self._read(topic, lane, start, limit), timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            log.warning("inbox_catchup_failed", topic=topic, offset=start, error=repr(exc))
            raise BrokerUnavailable(f"the inbox could not be read within {timeout_s:g}s") from exc

    async def _read(
        self, topic: str, lane: Precedence, start: int, limit: int
    ) -> list[InboxRecord]:
        tp = TopicPartition(topic, 0)
        async with self._borrow((tp, start)) as consumer:
            sticky = self._at.pop(id(consumer), None) == (tp, start)
            if sticky:  # already there (see the module docstring): keep what it prefetched
                position = start
                # Its last fetch's stable offset can only be behind the true one: a page ends
                # early at worst. Past it, ask the broker.
                end = consumer.last_stable_offset(tp)
                if end is None or end <= start:
                    end = (await consumer.end_offsets([tp]))[tp]  # the LSO under read_committed
            else:
                consumer.assign([tp])
                end = (await consumer.end_offsets([tp]))[tp]
                begin = (await consumer.beginning_offsets([tp]))[tp]
                position = max(start, begin)
                consumer.seek(tp, position)
            out: list[InboxRecord] = []
            if position >= end:
                self._at[id(consumer)] = (tp, position)
                return out
            while len(out) < limit:
                batch = await consumer.getmany(
                    tp, timeout_ms=_POLL_MS, max_records=limit - len(out)
                )
                for message in batch.get(tp, ()):
                    record = to_record(lane, message)
                    if record is not None:
                        out.append(record)
                if await consumer.position(tp) >= end:
                    break
            self._at[id(consumer)] = (tp, await consumer.position(tp))
            return out

    async def offset_at(self, topic: str, when_ms: int) -> int | None:
        """The first offset of ``topic`` (one partition) stamped at or after ``when_ms``."""
        tp = TopicPartition(topic, 0)
        timeout_s = self._settings.kafka_timeout_s
        try:
            async with self._borrow() as consumer:
                found = await asyncio.wait_for(consumer.offsets_for_times({tp: when_ms}), timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise BrokerUnavailable(f"the inbox could not be read within {timeout_s:g}s") from exc
        stamp = found.get(tp)
        return None if stamp is None else int(stamp.offset)

    async def aclose(self) -> None:
        consumers, self._all = self._all, []
        self._idle.clear()
        self._at.clear()
        for consumer in consumers:
            await stop_client(consumer, self._settings.kafka_timeout_s)


def reraise_if_cancelling(exc: BaseException) -> None:
    """aiokafka can turn a cancellation into its own error; a loop must not retry then."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc
