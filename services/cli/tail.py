"""`cell tail`: decode typed messages live from a topic or a desk's inbox, with filters.

`cell tail ukr.mod` follows the four inbox lanes of that desk; `cell tail cell.submit.flash`
follows one topic. Records that are not envelopes (audit records, dead letters) are shown as
raw JSON with their headers, never dropped silently.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import datetime
from typing import Any, TextIO

import msgspec
from aiokafka import TopicPartition

from schemas.codec import DecodeError, decode
from schemas.envelope import Envelope
from schemas.labels import display_marking
from schemas.precedence import LANES_HIGH_FIRST
from schemas.topics import inbox_topic
from services.cli.common import add_kafka_options, registry_of, settings_from
from services.runtime import kafka

_JSON = msgspec.json.Encoder()


def topics_for(target: str, args: argparse.Namespace) -> list[str]:
    settings = settings_from(args)
    desk = registry_of(settings).get(target)
    if desk is not None:
        return [inbox_topic(desk, lane, prefix=settings.topic_prefix) for lane in LANES_HIGH_FIRST]
    return [target]


def matches(env: Envelope, args: argparse.Namespace) -> bool:
    return (
        (not args.kind or env.kind.startswith(args.kind))
        and (not args.precedence or env.primary_precedence.value == args.precedence.upper())
        and (not args.originator or env.originator == args.originator)
    )


def render(env: Envelope, record: object, *, as_json: bool) -> str:
    if as_json:
        return _JSON.encode(env).decode()
    where = f"{getattr(record, 'topic', '')}[{getattr(record, 'partition', '')}]@" + str(
        getattr(record, "offset", "")
    )
    to = ", ".join(env.action_to) + (f" (info {', '.join(env.info_to)})" if env.info_to else "")
    return (
        f"{env.dtg}  {env.primary_precedence.value:<9} {env.kind:<28} {env.originator} -> {to}\n"
        f"    {env.subject}  [{display_marking(env.label)}]  id={env.message_id}  {where}"
    )


async def _seek(
    c: Any,  # noqa: ANN401 - an aiokafka consumer (untyped)
    tps: list[TopicPartition],
    args: argparse.Namespace,
) -> None:
    if args.offset is not None:
        for tp in tps:
            c.seek(tp, args.offset)
    elif args.since:
        since = datetime.fromisoformat(args.since)
        stamps = await c.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
        for tp in tps:
            found = stamps.get(tp)
            if found is None:
                await c.seek_to_end(tp)
            else:
                c.seek(tp, found.offset)
    elif args.from_beginning:
        await c.seek_to_beginning(*tps)
    else:
        await c.seek_to_end(*tps)


async def tail(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    settings = settings_from(args)
    names = topics_for(args.target, args)
    consumer = kafka.consumer(settings, group_id=None, client_id="cell-tail")
    await asyncio.wait_for(consumer.start(), settings.kafka_timeout_s * 3)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    shown = 0
    idle_deadline = loop.time() + args.idle_timeout if args.idle_timeout else None
    try:
        tps = [
            TopicPartition(name, p)
            for name in names
            for p in await kafka.partitions_of(consumer, name, timeout_s=settings.kafka_timeout_s)
        ]
        consumer.assign(tps)
        await _seek(consumer, tps, args)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=250, max_records=500)
            records = [r for part in batch.values() for r in part]
            if records and idle_deadline is not None:
                idle_deadline = loop.time() + args.idle_timeout
            for record in records:
                try:
                    env = decode(record.value)
                except DecodeError:
                    print(
                        f"(not an envelope) {record.topic}@{record.offset}: "
                        f"{record.value[:500]!r} headers={record.headers}",
                        file=out,
                        flush=True,
                    )
                    continue
                if matches(env, args):
                    print(render(env, record, as_json=args.json), file=out, flush=True)
                    shown += 1
                    if args.max and shown >= args.max:
                        return 0
            if idle_deadline is not None and loop.time() > idle_deadline:
                return 0
    finally:
        await asyncio.wait_for(consumer.stop(), settings.kafka_timeout_s)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tail",
        help="decode typed messages live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="a desk id (its inbox lanes) or a topic name")
    p.add_argument("--kind", help="only kinds starting with this, e.g. liaison or notify.ack")
    p.add_argument(
        "--precedence", choices=["FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE"], type=str.upper
    )
    p.add_argument("--originator", help="only messages from this desk")
    p.add_argument("--json", action="store_true", help="one JSON envelope per line")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    start.add_argument("--offset", type=int, help="start at this offset in every partition")
    start.add_argument("--since", help="start at this time (ISO 8601 with zone)")
    p.add_argument("--max", type=int, default=0, help="stop after this many messages")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=0.0,
        help="stop after this many seconds without records (0: follow forever)",
    )
    add_kafka_options(p)
    p.set_defaults(handler=lambda a: asyncio.run(tail(a)))
