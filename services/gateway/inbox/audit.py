"""The message-status view: the audit trail materialised in memory, bounded.

One background reader per gateway process consumes ``cell.audit`` (read_committed, no
group, every partition) and keeps, per message id, the records of that message. Bounds,
both enforced on every insert:

- age: records are read from ``max_age`` ago (``offsets_for_times`` at start) and a
  message whose first record is older than ``max_age`` is dropped;
- count: at most ``max_messages`` messages (oldest first out) and ``max_records_per_message``
  records each (a broadcast to every desk has a handful of records per desk).

A message outside the view is reported as unknown (404), exactly like a message of which
the asking desk is not a party; statuses older than the window are for the audit service.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from schemas.audit import AuditRecord, Decision, decode_audit
from schemas.topics import AUDIT
from services.gateway.inbox.fetch import reraise_if_cancelling
from services.runtime import kafka
from services.runtime.kafka import stop_client
from services.runtime.logging import get_logger
from services.runtime.settings import CommonSettings

log = get_logger(__name__)

_POLL_MS = 500
_YIELD_EVERY = 100  # records decoded between two turns of the event loop
_MAX_BACKOFF_S = 10.0


class AuditView:
    def __init__(
        self, *, max_messages: int, max_records_per_message: int, max_age: timedelta
    ) -> None:
        self._max_messages = max_messages
        self._max_records = max_records_per_message
        self.max_age = max_age
        self._by_message: OrderedDict[uuid.UUID, list[AuditRecord]] = OrderedDict()
        self._first_seen: dict[uuid.UUID, datetime] = {}

    def __len__(self) -> int:
        return len(self._by_message)

    def add(self, record: AuditRecord, now: datetime) -> None:
        records = self._by_message.get(record.message_id)
        if records is None:
            records = self._by_message[record.message_id] = []
            self._first_seen[record.message_id] = record.at
        if len(records) < self._max_records:
            records.append(record)
        self._evict(now)

    def _evict(self, now: datetime) -> None:
        horizon = now - self.max_age
        while self._by_message:
            oldest = next(iter(self._by_message))
            if len(self._by_message) <= self._max_messages and (
                self._first_seen[oldest] >= horizon
            ):
                break
            del self._by_message[oldest]
            del self._first_seen[oldest]

    def records(self, message_id: uuid.UUID) -> list[AuditRecord]:
        return list(self._by_message.get(message_id, ()))

    def visible(self, message_id: uuid.UUID, desk_id: str) -> list[AuditRecord]:
        """The records ``desk_id`` may see: all to the originator, its own to a recipient.

        A desk the message was refused to is no party to it: it got nothing of the content,
        and telling it the message exists would leak that much (DOMAIN §4 rule 4).
        """
        records = self.records(message_id)
        if any(r.originator == desk_id for r in records):
            return records
        if self.delivery_to(message_id, desk_id) is None:
            return []
        return [r for r in records if r.visible_to(desk_id)]

    def delivery_to(self, message_id: uuid.UUID, desk_id: str) -> AuditRecord | None:
        """The DELIVERED record of this message to ``desk_id``, if it was delivered."""
        for record in self.records(message_id):
            if record.decision is Decision.DELIVERED and record.recipient == desk_id:
                return record
        return None


async def run_audit_reader(settings: CommonSettings, view: AuditView) -> None:
    """Fill ``view`` from the audit topic until cancelled; restart after a Kafka failure."""
    topic = f"{settings.topic_prefix}{AUDIT}"
    backoff = 0.5
    while True:
        consumer = kafka.consumer(settings, group_id=None, client_id="gateway-audit-view")
        try:
            await kafka.start_bounded(consumer, settings.kafka_timeout_s)
            await _read(consumer, topic, settings.kafka_timeout_s, view)
        except (TimeoutError, KafkaError, OSError) as exc:
            reraise_if_cancelling(exc)
            log.warning("audit_view_failed", error=repr(exc), retry_in_s=backoff)
        finally:
            await stop_client(consumer, settings.kafka_timeout_s)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_S)


async def _read(
    consumer: Any,  # noqa: ANN401 - aiokafka is untyped
    topic: str,
    timeout_s: float,
    view: AuditView,
) -> None:
    partitions = await asyncio.wait_for(_partitions(consumer, topic), timeout_s)
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    since_ms = int((datetime.now(UTC) - view.max_age).timestamp() * 1000)
    # The committed end first: a partition with no record in the window starts there, and
    # anything committed after this query is found by the time lookup that follows.
    ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout_s)
    found = await asyncio.wait_for(
        consumer.offsets_for_times(dict.fromkeys(tps, since_ms)), timeout_s
    )
    for tp in tps:
        at = found.get(tp)
        consumer.seek(tp, at.offset if at is not None else ends[tp])
    log.info("audit_view_started", topic=topic, partitions=len(tps))
    while True:
        batch = await consumer.getmany(timeout_ms=_POLL_MS, max_records=1000)
        now = datetime.now(UTC)
        for messages in batch.values():
            for i, message in enumerate(messages):
                if i and not i % _YIELD_EVERY:
                    await asyncio.sleep(0)  # the inbox tail and the streams share this loop
                try:
                    view.add(decode_audit(message.value), now)
                except (msgspec.DecodeError, msgspec.ValidationError, TypeError) as exc:
                    log.warning(
                        "audit_record_skipped",
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        error=str(exc),
                    )


async def _partitions(consumer: Any, topic: str) -> set[int]:  # noqa: ANN401 - aiokafka
    """The topic's partitions from fresh cluster metadata (the consumer's own cache only
    knows topics it was told about; aiokafka's consumer exposes no public refresh)."""
    while True:
        cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001
        partitions = cluster.partitions_for_topic(topic)
        if partitions:
            return set(partitions)
        await asyncio.sleep(0.5)
