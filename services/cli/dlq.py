"""`cell dlq`: list dead letters with their reasons; replay selected ones after a fix.

A replay re-produces the original key, bytes and headers (without the `dlq-*` ones) to the
topic and partition the record came from, with an idempotent acks=all producer, so the fixed
consumer sees it again exactly as first sent.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiokafka import TopicPartition

from schemas.topics import DEADLETTER
from services.cli.common import add_kafka_options, settings_from
from services.runtime import deadletter, kafka
from services.runtime.settings import CommonSettings


def _headers(record: Any) -> dict[str, str]:  # noqa: ANN401 - aiokafka record
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


async def read_all(settings: CommonSettings) -> list[Any]:
    """Every retained dead letter, oldest first (read_committed)."""
    topic = settings.topic_prefix + DEADLETTER
    consumer = kafka.consumer(settings, group_id=None, client_id="cell-dlq")
    await asyncio.wait_for(consumer.start(), settings.kafka_timeout_s * 3)
    try:
        tps = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await asyncio.wait_for(consumer.end_offsets(tps), settings.kafka_timeout_s)
        records: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.kafka_timeout_s * 3
        while any(
            pos < ends[tp]
            for tp, pos in zip(tps, [await consumer.position(tp) for tp in tps], strict=True)
        ):
            if loop.time() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in time")
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for part in batch.values() for r in part)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await asyncio.wait_for(consumer.stop(), settings.kafka_timeout_s)


async def replay(settings: CommonSettings, records: list[Any]) -> list[str]:
    producer = kafka.producer(settings, client_id="cell-dlq-replay")
    await asyncio.wait_for(producer.start(), settings.kafka_timeout_s * 3)
    done = []
    try:
        for record in records:
            h = _headers(record)
            source = h[deadletter.HEADER_SOURCE_TOPIC]
            partition = int(h[deadletter.HEADER_SOURCE_PARTITION])
            original = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq-")]
            # Back to the partition it came from: its key's place, beside its neighbours.
            meta = await asyncio.wait_for(
                producer.send_and_wait(
                    source, record.value, key=record.key, headers=original, partition=partition
                ),
                settings.kafka_timeout_s,
            )
            done.append(f"{record.partition}:{record.offset} -> {source}@{meta.offset}")
    finally:
        await asyncio.wait_for(producer.stop(), settings.kafka_timeout_s)
    return done


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    records = await read_all(settings)
    if args.action == "list":
        for r in records:
            h = _headers(r)
            print(
                f"{r.partition}:{r.offset}  {h.get(deadletter.HEADER_REASON, '?'):<14} "
                f"from {h.get(deadletter.HEADER_SOURCE_TOPIC, '?')}"
                f"[{h.get(deadletter.HEADER_SOURCE_PARTITION, '?')}]"
                f"@{h.get(deadletter.HEADER_SOURCE_OFFSET, '?')} "
                f"by {h.get(deadletter.HEADER_SERVICE, '?')}: {h.get(deadletter.HEADER_ERROR, '')}"
            )
        print(f"{len(records)} dead letter(s)")
        return 0
    wanted = set(args.ids)
    chosen = [r for r in records if f"{r.partition}:{r.offset}" in wanted]
    missing = wanted - {f"{r.partition}:{r.offset}" for r in chosen}
    if missing:
        print(f"no dead letter at {', '.join(sorted(missing))}")
        return 1
    for line in await replay(settings, chosen):
        print(f"replayed {line}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dlq",
        help="list or replay dead letters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("ids", nargs="*", help="for replay: PARTITION:OFFSET as `list` shows them")
    add_kafka_options(p)
    p.set_defaults(handler=lambda a: asyncio.run(_run(a)))
