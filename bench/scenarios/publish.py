"""``publish_single``, ``publish_batch``, ``http_overhead``, ``bare_http``: closed-loop throughput.

Per repeat, back to back on one broker: the raw aiokafka send loop (its own process), then wrk
against the gateway (one message per POST, then 100 per batch POST), the minimal
decode-and-send aiohttp handler and the bare 202 handler, all at the same connection count.
The raw arm sends the sealed envelope the gateway would write, with the same headers and key,
to a topic shaped like the submit lane (3 partitions).
"""

from __future__ import annotations

import msgspec

from bench import cell, profile, wrk
from bench.context import Context
from bench.corpus import envelope, golden, submission_json
from bench.loadgen import ProduceConfig
from bench.procs import CpuMeter, run_loadgen
from bench.results import Arm, Scenario, Target
from bench.stats import Spread, ratios
from schemas import codec
from schemas.precedence import Precedence
from schemas.topics import submit_topic

MESSAGE = "liaison.message.v1"
DESK = "usa.eucom"
BATCH = 100


def _arm(label: str, unit: str, rates: list[float], cpu: list[dict[str, float]]) -> Arm:
    shares = {k: round(sum(c[k] for c in cpu) / len(cpu), 3) for k in cpu[0]} if cpu else {}
    notes: dict[str, float | int | str] = {}
    # CPU time per unit of work: the figure that does not depend on how much CPU the shared
    # machine left the process (server, or the raw loop's own process).
    per = [c.get("server", c.get("loadgen", 0.0)) / r for c, r in zip(cpu, rates, strict=True) if r]
    if per:
        notes[f"cpu_us_per_{unit.removesuffix('/s')}"] = round(Spread.of(per).median * 1e6, 1)
    return Arm(label=label, unit=unit, rate=Spread.of(rates), cpu=shares, notes=notes)


async def run(ctx: Context, broker_pid: int | None) -> list[Scenario]:  # noqa: PLR0915
    knobs = ctx.knobs
    prefix = ctx.prefix("publish")
    ctx.say(f"publish: provisioning the demo registry's topics under {prefix}")
    await cell.provision_cell(ctx.bootstrap, prefix)
    raw_topic = f"{prefix}raw.routine"
    await cell.create_topic(ctx.bootstrap, raw_topic, 3)
    sealed = envelope(MESSAGE)
    raw_cfg = ProduceConfig(
        bootstrap=ctx.bootstrap,
        topic=raw_topic,
        key=DESK.encode(),
        value=golden()[MESSAGE],
        headers=codec.headers(sealed),
        warmup_s=knobs.warmup_s,
        measure_s=knobs.measure_s,
    )
    single = submission_json(MESSAGE, precedence=Precedence.ROUTINE.value)
    batch = msgspec.json.encode({"submissions": [msgspec.json.decode(single)] * BATCH})
    token = cell.token(DESK)
    gateway = cell.start_gateway(ctx.bootstrap, prefix)
    minimal = cell.start_server("minimal", ctx.bootstrap, raw_topic)
    bare = cell.start_server("bare", ctx.bootstrap, raw_topic)
    conns = knobs.http_connections
    figures: dict[str, list[float]] = {k: [] for k in ("raw", "single", "batch", "minimal", "bare")}
    cpus: dict[str, list[dict[str, float]]] = {k: [] for k in figures}
    notes: dict[str, int] = {"gateway_errors": 0, "minimal_errors": 0, "bare_errors": 0}
    pids = {"broker": broker_pid} if broker_pid else {}

    async def http(name: str, url: str, body: bytes, pid: int, per_request: int) -> None:
        if knobs.warmup_s >= 1:  # wrk runs whole seconds; the quick run skips warm-up
            await wrk.run(url, body, token, connections=conns, seconds=knobs.warmup_s)
        meter = CpuMeter({"server": pid, **pids})
        result = await wrk.run(url, body, token, connections=conns, seconds=knobs.measure_s)
        figures[name].append(result.ok_per_s * per_request)
        cpus[name].append(meter.shares() | {"wrk": result.cpu})
        key = "gateway_errors" if name in {"single", "batch"} else f"{name}_errors"
        notes[key] += result.errors

    try:
        for repeat in range(knobs.repeats):
            ctx.say(f"publish: repeat {repeat + 1}/{knobs.repeats}: raw aiokafka send loop")
            meter = CpuMeter(pids)
            raw = msgspec.json.decode(await run_loadgen("produce", raw_cfg, timeout_s=120.0))
            figures["raw"].append(raw["rate"])
            cpus["raw"].append(meter.shares() | {"loadgen": round(raw["cpu"], 3)})
            ctx.say(f"publish: repeat {repeat + 1}: gateway single, batch; minimal; bare")
            url = f"{gateway.url}/v1/messages"
            await http("single", url, single, gateway.pid, 1)
            await http("batch", f"{url}:batch", batch, gateway.pid, BATCH)
            await http("minimal", f"{minimal.url}/v1/messages", single, minimal.pid, 1)
            await http("bare", f"{bare.url}/v1/messages", single, bare.pid, 1)
        ctx.say("publish: py-spy profiles of the gateway (single, batch)")
        url = f"{gateway.url}/v1/messages"
        profiles = {
            name: await profile.during(
                gateway.pid,
                wrk.run(target, body, token, connections=conns, seconds=knobs.measure_s + 1),
                seconds=knobs.measure_s,
            )
            for name, target, body in (("single", url, single), ("batch", f"{url}:batch", batch))
        }
    finally:
        for service in (gateway, minimal, bare):
            service.stop()
    settings: dict[str, object] = {
        "message": f"{MESSAGE} ({len(single)} B posted, {len(raw_cfg.value)} B on Kafka)",
        "desk": DESK,
        "lane": submit_topic(Precedence.ROUTINE, prefix=prefix),
        "partitions": 3,
        "producer": "acks=all, enable_idempotence=True, linger_ms=5 (services.runtime.kafka)",
        "http_load": f"wrk -t1 -c{conns}, closed loop",
        "warmup_s": knobs.warmup_s,
        "measure_s": knobs.measure_s,
        "repeats": knobs.repeats,
        "gateway_log_level": "INFO (JSON, to a file)",
    }
    raw_arm = _arm("raw aiokafka send loop (one producer)", "msg/s", figures["raw"], cpus["raw"])
    single_arm = _arm("gateway, 1 message per POST", "msg/s", figures["single"], cpus["single"])
    batch_arm = _arm(
        f"gateway, {BATCH} messages per batch POST", "msg/s", figures["batch"], cpus["batch"]
    )
    minimal_arm = _arm(
        "minimal aiohttp handler: decode + one send", "req/s", figures["minimal"], cpus["minimal"]
    )
    bare_arm = _arm("bare aiohttp handler answering 202", "req/s", figures["bare"], cpus["bare"])
    single_req = msgspec.structs.replace(single_arm, unit="req/s")
    single_req = msgspec.structs.replace(
        single_req,
        notes={"cpu_us_per_req": single_arm.notes.get("cpu_us_per_msg", 0.0), **notes},
    )

    def scenario(
        *,
        key: str,
        title: str,
        definition: str,
        target: Target,
        ours: Arm,
        base: Arm,
        bound: str,
        ours_values: list[float],
        base_values: list[float],
        profiled: profile.Profile | None = None,
    ) -> Scenario:
        ratio = Spread.of(ratios(ours_values, base_values))
        return Scenario(
            key=key,
            title=title,
            status="ok",
            ratio_definition=definition,
            target=target,
            ratio=ratio,
            met=target.met(ratio.median),
            ours=ours,
            baseline=base,
            settings=settings,
            bound=bound,
            profile=profiled,
        )

    http_bound = _bound(single_arm, minimal_arm, "request")
    return [
        scenario(
            key="publish_single",
            title="Publish, one message per POST",
            definition="gateway msg/s / raw aiokafka msg/s",
            target=Target(op=">=", value=0.12),
            ours=single_arm,
            base=raw_arm,
            bound=_bound(single_arm, raw_arm, "message"),
            ours_values=figures["single"],
            base_values=figures["raw"],
            profiled=profiles["single"],
        ),
        scenario(
            key="publish_batch",
            title=f"Publish, {BATCH} messages per batch POST",
            definition="gateway msg/s / raw aiokafka msg/s",
            target=Target(op=">=", value=0.8),
            ours=batch_arm,
            base=raw_arm,
            bound=_bound(batch_arm, raw_arm, "message"),
            ours_values=figures["batch"],
            base_values=figures["raw"],
            profiled=profiles["batch"],
        ),
        scenario(
            key="http_overhead",
            title="Price of the gateway over a minimal handler",
            definition="gateway req/s / minimal decode+send handler req/s (same concurrency)",
            target=Target(op=">=", value=0.7),
            ours=single_req,
            base=minimal_arm,
            bound=http_bound,
            ours_values=figures["single"],
            base_values=figures["minimal"],
            profiled=profiles["single"],
        ),
        scenario(
            key="bare_http",
            title="Gateway vs a bare aiohttp 202",
            definition="gateway req/s / bare aiohttp handler req/s",
            target=Target(op=None),
            ours=single_req,
            base=bare_arm,
            bound="aiohttp's own per-request cost bounds the bare arm; the gateway adds the "
            "Kafka acknowledgement wait and its checks",
            ours_values=figures["single"],
            base_values=figures["bare"],
        ),
    ]


def _cpu_us(arm: Arm) -> float:
    return next((float(v) for k, v in arm.notes.items() if k.startswith("cpu_us_per_")), 0.0)


def _bound(ours: Arm, base: Arm, unit: str) -> str:
    server = ours.cpu.get("server", 0.0)
    mine, theirs = _cpu_us(ours), _cpu_us(base)
    return (
        f"CPU per {unit}: the gateway spent {mine:,.0f} us of CPU per {unit}, the baseline "
        f"{theirs:,.0f} us ({mine / theirs if theirs else 0:.1f}x); at its measured rate "
        f"that kept it {server:.2f} busy of the one core it can use, on a 2-core machine "
        "shared with wrk, the broker and (see CPU pressure) other work. Per request it runs "
        "auth, a strict decode, label and role checks, sealing, encode, headers, metrics and "
        "an access log line, then waits for the acks=all acknowledgement; the profile below "
        "says where that CPU goes"
    )
