"""``e2e_latency``: desk to desk through gateway and router vs raw aiokafka two hops.

Ours: POST to the gateway (sender desk) until the WebSocket frame reaches the recipient desk,
through the router's transactions. Baseline: produce to a 3-partition topic, a raw relay
process consumes and produces to a 1-partition topic, the generator consumes it: the same
two hops without gateway, router logic or transactions. Both open loop at the same fixed
rate, latency from the scheduled send time; ratio of the p99s.
"""

from __future__ import annotations

import asyncio
import sys

import msgspec

from bench import cell, routerlog
from bench.context import Context
from bench.corpus import golden, submission_json
from bench.httpload import E2EConfig
from bench.loadgen import RelayConfig, TwoHopConfig
from bench.procs import ROOT, CpuMeter, run_loadgen
from bench.results import Arm, Scenario, Target
from bench.stages import StagesConfig
from bench.stats import Latency, Spread, ratios
from schemas.precedence import Precedence
from schemas.topics import inbox_topic, submit_topic
from services.gateway.auth import load_desks
from services.runtime.process import die_with_parent

MESSAGE = "liaison.message.v1"
SENDER, RECIPIENT = "usa.eucom", "ukr.mod"
RATE_FULL, RATE_QUICK = 200.0, 50.0


async def _start_relay(cfg: RelayConfig) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        "relay",
        msgspec.json.encode(cfg).decode(),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=die_with_parent(),
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60.0)
    if line.strip() != b"ready":
        proc.kill()
        await proc.wait()
        raise RuntimeError("raw relay did not start")
    return proc


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.communicate(), 30.0)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _stages(
    ctx: Context, e2e: E2EConfig, prefix: str, budget: float
) -> tuple[dict[str, object], ...]:
    recipient = load_desks(str(cell.DESKS_FILE)).get(RECIPIENT)
    assert recipient is not None
    lane = Precedence(e2e.submission["primary_precedence"])
    cfg = StagesConfig(
        url=e2e.url,
        bootstrap=ctx.bootstrap,
        submit_topic=submit_topic(lane, prefix=prefix),
        inbox_topic=inbox_topic(recipient, lane, prefix=prefix),
        sender_token=e2e.sender_token,
        recipient_token=e2e.recipient_token,
        submission=e2e.submission,
        # A quarter of the rate, 500 samples: the probe's own three consumers and the frame
        # reader share one process, which must not become the stage it measures.
        rate=max(20.0, e2e.rate / 4),
        samples=min(e2e.samples, 500),
        warmup=min(e2e.warmup, 50),
    )
    found: dict[str, list[float]] = msgspec.json.decode(await run_loadgen("stages", cfg, budget))
    return tuple(
        {
            "stage": name,
            "samples": len(values),
            "p50_ms": Latency.of(values).p50_ms,
            "p99_ms": Latency.of(values).p99_ms,
        }
        for name, values in found.items()
        if values
    )


def _bound(rows: tuple[dict[str, object], ...], txn: dict[str, float | int]) -> str:
    stages = [r for r in rows if not str(r["stage"]).startswith("total")]
    if not stages:
        return "no stage breakdown in this run"
    worst = max(stages, key=lambda r: float(str(r["p50_ms"])))
    parts = "; ".join(f"{r['stage']}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms" for r in stages)
    return (
        f"the stage breakdown (table below, one extra pass at a quarter of the rate): {parts}. The "
        f'largest is "{worst["stage"]}". The router\'s log: '
        f"{txn.get('router_records_per_txn', '?')} records per transaction, "
        f"{txn.get('router_txn_p50_ms', '?')} ms per transaction p50 "
        f"({txn.get('router_txn_p99_ms', '?')} ms p99); a submission waits for the "
        "transaction in flight, then rides the next one (AddPartitionsToTxn, produce, "
        "AddOffsetsToTxn, TxnOffsetCommit, EndTxn), and the gateway sees it only once that "
        "commits (read_committed). The raw relay has no transaction and no checks"
    )


async def run(ctx: Context, broker_pid: int | None) -> list[Scenario]:
    knobs = ctx.knobs
    rate = RATE_QUICK if knobs.quick else RATE_FULL
    samples, warmup = knobs.latency_samples, max(20, knobs.latency_samples // 5)
    prefix = ctx.prefix("latency")
    ctx.say(f"e2e_latency: provisioning under {prefix}; {rate:g} msg/s, {samples} samples")
    await cell.provision_cell(ctx.bootstrap, prefix)
    source, sink = f"{prefix}raw.hop1", f"{prefix}raw.hop2"
    await cell.create_topic(ctx.bootstrap, source, 3)
    await cell.create_topic(ctx.bootstrap, sink, 1)
    submission = msgspec.json.decode(submission_json(MESSAGE)) | {"info_to": []}
    e2e_cfg = E2EConfig(
        url="",
        sender_token=cell.token(SENDER),
        recipient_token=cell.token(RECIPIENT),
        submission=submission,
        rate=rate,
        samples=samples,
        warmup=warmup,
    )
    hop_cfg = TwoHopConfig(
        bootstrap=ctx.bootstrap,
        source=source,
        sink=sink,
        value=golden()[MESSAGE],
        rate=rate,
        samples=samples,
        warmup=warmup,
    )
    router = cell.start_router(ctx.bootstrap, prefix)
    gateway = cell.start_gateway(ctx.bootstrap, prefix)
    relay = await _start_relay(
        RelayConfig(bootstrap=ctx.bootstrap, source=source, sink=sink, group=f"{prefix}relay")
    )
    e2e_cfg = msgspec.structs.replace(e2e_cfg, url=gateway.url)
    ours: list[Latency] = []
    base: list[Latency] = []
    cpu_ours: dict[str, float] = {}
    cpu_base: dict[str, float] = {}
    statuses: dict[str, int] = {}
    pids = {"broker": broker_pid} if broker_pid else {}
    budget = (warmup + samples) / rate + 90.0
    try:
        for repeat in range(knobs.repeats):
            ctx.say(f"e2e_latency: repeat {repeat + 1}/{knobs.repeats}: raw two hops, then cell")
            meter = CpuMeter({"relay": relay.pid, **pids})
            hop = msgspec.json.decode(await run_loadgen("twohop", hop_cfg, budget))
            base.append(Latency.of(hop["latencies"]))
            cpu_base = meter.shares() | {"loadgen": round(hop["cpu"], 3)}
            meter = CpuMeter({"gateway": gateway.pid, "router": router.pid, **pids})
            e2e = msgspec.json.decode(await run_loadgen("e2e", e2e_cfg, budget))
            ours.append(Latency.of(e2e["latencies"]))
            cpu_ours = meter.shares() | {"loadgen": round(e2e["cpu"], 3)}
            for status, count in e2e["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        ctx.say("e2e_latency: stage breakdown (one more pass, own consumers on each hop)")
        rows = await _stages(ctx, e2e_cfg, prefix, budget)
    finally:
        await _stop(relay)
        gateway.stop()
        router.stop()
    ratio = Spread.of(ratios([x.p99_ms for x in ours], [x.p99_ms for x in base]))
    target = Target(op="<=", value=2.0)
    mid = sorted(range(len(ours)), key=lambda i: ratio.values[i])[len(ours) // 2]
    return [
        Scenario(
            key="e2e_latency",
            title="Desk to desk latency through gateway and router",
            status="ok",
            ratio_definition="cell p99 / raw aiokafka two-hop p99, same fixed rate, open loop",
            target=target,
            ratio=ratio,
            met=target.met(ratio.median),
            ours=Arm(
                label="POST accepted -> WebSocket frame (gateway, router, gateway)",
                unit="ms",
                latency=ours[mid],
                latencies=tuple(ours),
                cpu=cpu_ours,
                notes={f"http_{k}": v for k, v in statuses.items()},
            ),
            baseline=Arm(
                label="raw produce -> consume -> produce -> consume (relay process)",
                unit="ms",
                latency=base[mid],
                latencies=tuple(base),
                cpu=cpu_base,
            ),
            settings={
                "rate_msg_per_s": rate,
                "samples_per_repeat": samples,
                "warmup_messages": warmup,
                "repeats": knobs.repeats,
                "message": MESSAGE,
                "sender": SENDER,
                "recipient": RECIPIENT,
                "rate_choice": "fixed, well under half of the measured single-POST maximum",
            },
            rows=rows,
            bound=_bound(rows, routerlog.stats(router.log) if router.log else {}),
        )
    ]
