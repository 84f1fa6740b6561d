"""The tailing reader: one consumer per gateway process over every desk's inbox lanes.

Manually assigned to the four inbox partitions of every desk in the registry (no group:
each gateway reads everything, there is nothing to share out). It starts each lane a
window's length before the committed end, so recent cursors are served from memory at
once, fills the ``InboxStore`` windows and wakes the desks that got records. When Kafka
fails it drops its windows (reads fall back to the catch-up pool), waits and starts again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.gateway.inbox.fetch import reraise_if_cancelling, to_record
from services.gateway.inbox.store import InboxStore
from services.runtime import kafka
from services.runtime.kafka import stop_client
from services.runtime.logging import get_logger
from services.runtime.settings import CommonSettings

log = get_logger(__name__)

_POLL_MS = 500
_MAX_BACKOFF_S = 10.0
# aiokafka sends no new fetch to a broker while one is in flight there: with the default
# 500 ms long poll, a lane whose records were just consumed waits behind the fetch parked
# on every other lane. A short long poll bounds that wait (bench: e2e_latency).
_FETCH_MAX_WAIT_MS = 20
_YIELD_EVERY = 50  # records decoded between two turns of the event loop


async def run_tail(settings: CommonSettings, store: InboxStore, ready: asyncio.Event) -> None:
    """Run until cancelled; ``ready`` is set once every lane has caught up."""
    backoff = 0.5
    while True:
        consumer = kafka.consumer(
            settings,
            group_id=None,
            client_id="gateway-inbox-tail",
            fetch_max_wait_ms=_FETCH_MAX_WAIT_MS,
        )
        try:
            await kafka.start_bounded(consumer, settings.kafka_timeout_s)
            await _tail(consumer, settings, store, ready)
        except (TimeoutError, KafkaError, OSError) as exc:
            reraise_if_cancelling(exc)
            log.warning("inbox_tail_failed", error=repr(exc), retry_in_s=backoff)
        finally:
            for topic in store.topics():
                store.reset(topic, 0)
            await stop_client(consumer, settings.kafka_timeout_s)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_S)


async def _tail(
    consumer: Any,  # noqa: ANN401 - aiokafka is untyped
    settings: CommonSettings,
    store: InboxStore,
    ready: asyncio.Event,
) -> None:
    tps, catching_up = await _assign(consumer, settings.kafka_timeout_s, store)
    log.info("inbox_tail_started", lanes=len(tps), catching_up=len(catching_up))
    while True:
        if not catching_up:
            ready.set()
        batch = await consumer.getmany(timeout_ms=_POLL_MS, max_records=1000)
        # Highest lane first, each lane's desks woken as soon as its records are in, and a turn
        # of the loop every few records decoded: a FLASH fetched along with a ROUTINE flood
        # reaches its streams without waiting for the flood's decoding.
        decoded = 0
        for tp, messages in sorted(
            batch.items(), key=lambda part: -store.window(tps[part[0]]).lane.rank
        ):
            window = store.window(tps[tp])
            appended = False
            for message in messages:
                decoded += 1
                if not decoded % _YIELD_EVERY:
                    await asyncio.sleep(0)
                record = to_record(window.lane, message)
                if record is not None:
                    store.append(tps[tp], record)
                    appended = True
            if appended:
                store.notify(window.desk)
        for tp in list(catching_up):
            if await consumer.position(tp) >= catching_up[tp]:
                del catching_up[tp]
                store.mark_ready(tps[tp])


async def _assign(
    consumer: Any,  # noqa: ANN401 - aiokafka is untyped
    timeout_s: float,
    store: InboxStore,
) -> tuple[dict[TopicPartition, str], dict[TopicPartition, int]]:
    """Assign every existing inbox lane, a window before its end; returns the lanes still
    catching up with the committed end they had at start."""
    present = await asyncio.wait_for(consumer.topics(), timeout_s)
    topics = [t for t in store.topics() if t in present]
    if len(topics) < len(store.topics()):
        log.warning("inbox_topics_missing", count=len(store.topics()) - len(topics))
    tps = {TopicPartition(t, 0): t for t in topics}
    consumer.assign(list(tps))
    ends = await asyncio.wait_for(consumer.end_offsets(list(tps)), timeout_s)
    begins = await asyncio.wait_for(consumer.beginning_offsets(list(tps)), timeout_s)
    catching_up: dict[TopicPartition, int] = {}
    for tp, topic in tps.items():
        start = max(begins[tp], ends[tp] - store.max_records)
        consumer.seek(tp, start)
        store.reset(topic, start)
        if start >= ends[tp]:
            store.mark_ready(topic)
        else:
            catching_up[tp] = ends[tp]
    return tps, catching_up
