"""``router_eos`` and ``flash_under_load``: the router's exactly-once loop and its precedence.

Both inject sealed envelopes (the golden ``liaison.message.v1``, one fresh ``message_id``
each, the gateway's headers and key) straight into a submit lane with a raw producer, so the
load is the router's alone. Every repeat gets a fresh topic prefix: no repeat inherits
another's backlog, state or offsets.

- ``router_eos``: ``backlog`` envelopes wait on the ROUTINE lane, then the router starts;
  msgs/s = input records committed (the router group's committed offsets, polled every
  50 ms) from the first commit seen to the last. Baseline: ``bench.loadgen`` ``relay`` over
  a topic of the same partition count holding the same records: consume, produce each to a
  one-partition topic (an inbox's layout), commit the offsets, no transactions; measured
  the same way from its group's commits.
- ``flash_under_load``: gateway and router running; FLASH desk to desk latency (POST to
  WebSocket frame, open loop, ``bench.httpload`` ``e2e``) first with nothing queued, then
  right after ``backlog`` ROUTINE envelopes to the same recipient were written to the
  ROUTINE lane. The router's remaining ROUTINE backlog is read at the start and the end of
  the FLASH window and recorded.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Self

import msgspec
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench import cell, profile, routerlog
from bench.context import Context
from bench.corpus import envelope, submission_json
from bench.httpload import E2EConfig
from bench.loadgen import RelayConfig
from bench.procs import CpuMeter, run_loadgen
from bench.results import Arm, Scenario, Target
from bench.scenarios.latency import _start_relay, _stop
from bench.stats import Latency, Spread, ratios
from schemas import codec
from schemas.precedence import Precedence
from schemas.topics import SUBMIT_PARTITIONS, KeyRule, submit_topic
from services.runtime import kafka
from services.runtime.settings import CommonSettings

MESSAGE = "liaison.message.v1"
SENDER, RECIPIENT = "usa.eucom", "ukr.mod"
POLL_S = 0.05
DEADLINE_S = 300.0


def _records(count: int) -> list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]]:
    # Sealed as the gateway would for SENDER, a desk of the demo registry: the golden
    # message's own originator is not one, and the router would refuse every record.
    template = msgspec.structs.replace(
        envelope(MESSAGE), originator=SENDER, released_at=datetime.now(UTC)
    )
    out = []
    for _ in range(count):
        sealed = msgspec.structs.replace(template, message_id=uuid.uuid4())
        out.append(
            (codec.encode(sealed), KeyRule.ORIGINATOR.key_for(sealed), codec.headers(sealed))
        )
    return out


async def inject(
    bootstrap: str,
    topic: str,
    records: Sequence[tuple[bytes, bytes | None, list[tuple[str, bytes]]]],
) -> None:
    producer = kafka.producer(CommonSettings(kafka_bootstrap=bootstrap), client_id="bench-inject")
    await asyncio.wait_for(producer.start(), 30.0)
    try:
        futures = [await producer.send(topic, value=v, key=k, headers=h) for v, k, h in records]
        await asyncio.wait_for(asyncio.gather(*futures), 60.0)
    finally:
        await asyncio.wait_for(producer.stop(), 30.0)


class Committed:
    """Polls a group's committed offsets on some topics (what a consumer has finished)."""

    def __init__(self, bootstrap: str, group: str, topics: set[str]) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
        self._group, self._topics = group, topics

    async def __aenter__(self) -> Self:
        await asyncio.wait_for(self._admin.start(), 30.0)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._admin.close()

    async def total(self) -> int:
        offsets: dict[TopicPartition, Any] = await asyncio.wait_for(
            self._admin.list_consumer_group_offsets(self._group), 30.0
        )
        return sum(o.offset for tp, o in offsets.items() if tp.topic in self._topics and o)

    async def rate(self, expect: int, started: float) -> tuple[float, int]:
        """(records/s from the first commit seen to the one reaching ``expect``, first count).

        When one poll already finds everything committed (a small quick-run backlog), the
        rate is taken from ``started`` (the consumer's launch): an underestimate, never more.
        """
        deadline = time.monotonic() + DEADLINE_S
        first: tuple[float, int] | None = None
        while time.monotonic() < deadline:
            done = await self.total()
            now = time.monotonic()
            if first is None and done > 0:
                first = (now, done) if done < expect else (started, 0)
            if done >= expect and first is not None:
                return (done - first[1]) / (now - first[0]), first[1]
            await asyncio.sleep(POLL_S)
        raise TimeoutError(f"{self._group}: {expect} records not committed in {DEADLINE_S}s")


async def run_eos(ctx: Context, broker_pid: int | None) -> list[Scenario]:
    knobs = ctx.knobs
    backlog = 2_000 if knobs.quick else 20_000
    records = _records(backlog)
    ours: list[float] = []
    base: list[float] = []
    cpu_ours: dict[str, float] = {}
    cpu_base: dict[str, float] = {}
    txn: dict[str, float | int] = {}
    pids = {"broker": broker_pid} if broker_pid else {}
    for repeat in range(knobs.repeats):
        prefix = ctx.prefix(f"eos{repeat}")
        ctx.say(f"router_eos: repeat {repeat + 1}/{knobs.repeats}: {backlog:,} queued, router")
        await cell.provision_cell(ctx.bootstrap, prefix)
        lane = submit_topic(Precedence.ROUTINE, prefix=prefix)
        await inject(ctx.bootstrap, lane, records)
        started = time.monotonic()
        router = cell.start_router(ctx.bootstrap, prefix)
        try:
            meter = CpuMeter({"router": router.pid, **pids})
            async with Committed(ctx.bootstrap, f"{prefix}{prefix}router", {lane}) as done:
                rate, _ = await done.rate(backlog, started)
            ours.append(rate)
            cpu_ours = meter.shares()
        finally:
            router.stop()
        if router.log is not None:
            txn = routerlog.stats(router.log)
        ctx.say(f"router_eos: repeat {repeat + 1}: raw relay")
        source, sink = f"{prefix}raw.source", f"{prefix}raw.sink"
        await cell.create_topic(ctx.bootstrap, source, SUBMIT_PARTITIONS)
        await cell.create_topic(ctx.bootstrap, sink, 1)
        await inject(ctx.bootstrap, source, records)
        group = f"{prefix}relay"
        started = time.monotonic()
        relay = await _start_relay(
            RelayConfig(bootstrap=ctx.bootstrap, source=source, sink=sink, group=group)
        )
        try:
            meter = CpuMeter({"relay": relay.pid, **pids})
            async with Committed(ctx.bootstrap, group, {source}) as done:
                rate, _ = await done.rate(backlog, started)
            base.append(rate)
            cpu_base = meter.shares()
        finally:
            await _stop(relay)
        await cell.delete_prefix(ctx.bootstrap, prefix)
    profiled = await _profile_router(ctx, records)
    ratio = Spread.of(ratios(ours, base))
    target = Target(op=">=", value=0.6)
    cpu_us = {
        "router_cpu_us_per_msg": round(cpu_ours.get("router", 0.0) / Spread.of(ours).median * 1e6),
        "relay_cpu_us_per_msg": round(cpu_base.get("relay", 0.0) / Spread.of(base).median * 1e6),
    }
    return [
        Scenario(
            key="router_eos",
            title="Router with transactions vs a raw consume-produce loop",
            status="ok",
            ratio_definition="router msgs/s / raw relay msgs/s (committed input offsets)",
            target=target,
            ratio=ratio,
            met=target.met(ratio.median),
            ours=Arm(
                label="router: guard, plan, one transaction per batch and partition",
                unit="msg/s",
                rate=Spread.of(ours),
                cpu=cpu_ours,
                notes={**txn, "cpu_us_per_msg": cpu_us["router_cpu_us_per_msg"]},
            ),
            baseline=Arm(
                label="raw relay: getmany, send each, gather, commit (no transactions)",
                unit="msg/s",
                rate=Spread.of(base),
                cpu=cpu_base,
            ),
            settings={
                "backlog": backlog,
                "message": MESSAGE,
                "key": f"originator ({SENDER}): one partition of {SUBMIT_PARTITIONS}",
                "router_batch_max_records": 500,
                "relay_batch_max_records": 1000,
                "repeats": knobs.repeats,
            },
            bound=_eos_bound(cpu_ours.get("router", 0.0), cpu_us, txn),
            profile=profiled,
        )
    ]


async def _profile_router(ctx: Context, records: Sequence[Any]) -> profile.Profile:
    """An extra pass: the same backlog, the router sampled once its first commit is seen."""
    ctx.say("router_eos: py-spy profile of the router draining the backlog")
    prefix = ctx.prefix("eosprofile")
    await cell.provision_cell(ctx.bootstrap, prefix)
    lane = submit_topic(Precedence.ROUTINE, prefix=prefix)
    await inject(ctx.bootstrap, lane, records)
    router = cell.start_router(ctx.bootstrap, prefix)
    try:
        async with Committed(ctx.bootstrap, f"{prefix}{prefix}router", {lane}) as done:
            deadline = time.monotonic() + DEADLINE_S
            while await done.total() == 0:
                if time.monotonic() > deadline:
                    return profile.Profile(error=f"no commit within {DEADLINE_S:g} s")
                await asyncio.sleep(POLL_S)
            seconds = 1.0 if ctx.knobs.quick else 2.0
            return await profile.during(
                router.pid, done.rate(len(records), time.monotonic()), seconds=seconds
            )
    finally:
        router.stop()
        await cell.delete_prefix(ctx.bootstrap, prefix)


def _eos_bound(router_cpu: float, cpu_us: dict[str, int], txn: dict[str, float | int]) -> str:
    mine, theirs = cpu_us["router_cpu_us_per_msg"], cpu_us["relay_cpu_us_per_msg"]
    return (
        f"CPU per message: the router spent {mine:,} us per input, the relay {theirs:,} us "
        f"({mine / theirs if theirs else 0:.1f}x); it kept {router_cpu:.2f} of a core busy. "
        f"Its log: {txn.get('router_records_per_txn', 0)} records per transaction, each "
        f"transaction {txn.get('router_txn_p50_ms', 0)} ms p50 "
        f"({txn.get('router_txn_p99_ms', 0)} ms p99). Per input it decodes and validates the "
        "envelope, checks releasability, expands addresses and writes the inbox copy, the "
        "watch copy, an audit record and its dedup state (several records against the "
        "relay's one) inside a transaction per batch (AddPartitionsToTxn, produce, "
        "AddOffsetsToTxn, TxnOffsetCommit, EndTxn)"
    )


async def run_flash(ctx: Context, broker_pid: int | None) -> list[Scenario]:
    knobs = ctx.knobs
    backlog = 2_000 if knobs.quick else 40_000
    floor = 1_000 if knobs.quick else 10_000
    rate, samples = (20.0, 20) if knobs.quick else (40.0, 120)
    warmup = 10
    records = _records(backlog)
    submission = msgspec.json.decode(
        submission_json(MESSAGE, precedence=Precedence.FLASH.value)
    ) | {"info_to": []}
    idle: list[Latency] = []
    loaded: list[Latency] = []
    queued: list[tuple[int, int]] = []
    pids = {"broker": broker_pid} if broker_pid else {}
    cpu: dict[str, float] = {}
    for repeat in range(knobs.repeats):
        prefix = ctx.prefix(f"flash{repeat}")
        ctx.say(f"flash_under_load: repeat {repeat + 1}/{knobs.repeats}: idle FLASH")
        await cell.provision_cell(ctx.bootstrap, prefix)
        lane = submit_topic(Precedence.ROUTINE, prefix=prefix)
        router = cell.start_router(ctx.bootstrap, prefix)
        gateway = cell.start_gateway(ctx.bootstrap, prefix)
        cfg = E2EConfig(
            url=gateway.url,
            sender_token=cell.token(SENDER),
            recipient_token=cell.token(RECIPIENT),
            submission=submission,
            rate=rate,
            samples=samples,
            warmup=warmup,
        )
        budget = (samples + warmup) / rate + 120.0
        try:
            result = msgspec.json.decode(await run_loadgen("e2e", cfg, budget))
            idle.append(Latency.of(result["latencies"]))
            ctx.say(f"flash_under_load: repeat {repeat + 1}: {backlog:,} ROUTINE, then FLASH")
            await inject(ctx.bootstrap, lane, records)
            async with Committed(ctx.bootstrap, f"{prefix}{prefix}router", {lane}) as done:
                start = backlog - await done.total()
                meter = CpuMeter({"gateway": gateway.pid, "router": router.pid, **pids})
                result = msgspec.json.decode(await run_loadgen("e2e", cfg, budget))
                cpu = meter.shares()
                end = backlog - await done.total()
            loaded.append(Latency.of(result["latencies"]))
            queued.append((start, end))
        finally:
            gateway.stop()
            router.stop()
        await cell.delete_prefix(ctx.bootstrap, prefix)
    ratio = Spread.of(ratios([x.p99_ms for x in loaded], [x.p99_ms for x in idle]))
    target = Target(op="<=", value=1.5)
    mid = sorted(range(len(loaded)), key=lambda i: ratio.values[i])[len(loaded) // 2]
    low_water = min(end for _, end in queued)
    return [
        Scenario(
            key="flash_under_load",
            title="FLASH latency under a ROUTINE backlog",
            status="ok",
            ratio_definition=(
                "FLASH desk-to-desk p99 with a ROUTINE backlog queued / FLASH p99 idle "
                "(same fixed rate, open loop)"
            ),
            target=target,
            ratio=ratio,
            met=target.met(ratio.median),
            ours=Arm(
                label=f"FLASH with {backlog:,} ROUTINE injected just before",
                unit="ms",
                latency=loaded[mid],
                latencies=tuple(loaded),
                cpu=cpu,
                notes={
                    "routine_queued_at_start": ", ".join(str(s) for s, _ in queued),
                    "routine_queued_at_end": ", ".join(str(e) for _, e in queued),
                    "backlog_floor_held": "yes" if low_water >= floor else "no",
                },
            ),
            baseline=Arm(
                label="FLASH, nothing queued",
                unit="ms",
                latency=idle[mid],
                latencies=tuple(idle),
            ),
            settings={
                "flash_rate_msg_per_s": rate,
                "samples_per_repeat": samples,
                "routine_injected": backlog,
                "required_queued": floor,
                "recipient": RECIPIENT,
                "repeats": knobs.repeats,
            },
            bound=(
                "the FLASH path shares the router's event loop and transactions and the "
                "gateway's tail and writer with the ROUTINE flood: the router pauses ROUTINE "
                "while FLASH has a backlog and a ROUTINE batch being planned yields every "
                "CELL_PREEMPT_CHUNK_RECORDS (20) records, so a FLASH waits for at most that "
                "chunk's transaction; the gateway's tail takes the FLASH lane of a fetch first "
                "and the stream's send queue hands FLASH out before ROUTINE frames already queued"
            ),
        )
    ]
