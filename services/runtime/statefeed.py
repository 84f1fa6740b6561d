"""Replay a compacted state topic from the beginning up to its last stable offset.

Called after the session's transactional producer has started: starting it fenced any
predecessor and aborted its open transaction, so the last stable offset is final and the
replay sees every committed snapshot and nothing else (the consumer reads read_committed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import TopicPartition

from services.runtime import kafka
from services.runtime.errors import BrokerUnavailable
from services.runtime.settings import CommonSettings

_POLL_MS = 200


async def replay(
    settings: CommonSettings,
    topic: str,
    apply: Callable[[bytes, bytes | None], None],
    *,
    stop: asyncio.Event,
    timeout_s: float,
    client_id: str,
) -> int:
    """Feed every (key, value) of ``topic`` to ``apply`` in offset order per partition."""
    consumer: Any = kafka.consumer(settings, group_id=None, client_id=client_id)
    await kafka.start_with_retry(consumer, what=f"{topic} replay", stop=stop, timeout_s=timeout_s)
    try:
        return await asyncio.wait_for(_drain(consumer, topic, apply, settings), timeout_s)
    except TimeoutError as exc:
        raise BrokerUnavailable(f"{topic} not replayed within {timeout_s:.0f}s") from exc
    finally:
        await kafka.stop_client(consumer, settings.kafka_timeout_s)


async def _drain(
    consumer: Any,  # noqa: ANN401 - aiokafka is untyped
    topic: str,
    apply: Callable[[bytes, bytes | None], None],
    settings: CommonSettings,
) -> int:
    cluster = await asyncio.wait_for(
        consumer._client.fetch_all_metadata(),  # noqa: SLF001 - partitions of an unsubscribed topic
        settings.kafka_timeout_s,
    )
    numbers = cluster.partitions_for_topic(topic)
    if not numbers:
        raise BrokerUnavailable(f"state topic {topic} does not exist")
    partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    applied = 0
    pending = {tp for tp in partitions if ends[tp] > 0}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=_POLL_MS, max_records=5000)
        for records in batch.values():
            for record in records:
                if record.key is not None:
                    apply(record.key, record.value)
                    applied += 1
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
    return applied
