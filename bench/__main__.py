"""``python -m bench [--quick] [--only a,b] [--bootstrap host:port]``.

Starts its own single-node broker unless ``--bootstrap`` or ``KAFKA_BOOTSTRAP`` names one,
runs the scenarios, writes ``bench/results/latest.json`` and ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from bench import cell, machine, report
from bench.context import Context, Knobs
from bench.results import Run, Scenario, Target
from bench.scenarios import (
    consumer,
    correlation,
    decode,
    latency,
    overload,
    publish,
    routing,
    websocket,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
MARKDOWN = ROOT / "BENCHMARKS.md"

Group = Callable[[Context, int | None], Awaitable[list[Scenario]]]


async def _decode(ctx: Context, _broker_pid: int | None) -> list[Scenario]:
    return decode.run(ctx)


async def _correlation(ctx: Context, _broker_pid: int | None) -> list[Scenario]:
    return correlation.run(ctx)


# Each group measures several scenarios that share their arms and processes.
GROUPS: dict[tuple[str, ...], Group] = {
    ("decode", "decode_vs_parse"): _decode,
    ("publish_single", "publish_batch", "http_overhead", "bare_http"): publish.run,
    ("e2e_latency",): latency.run,
    ("router_eos",): routing.run_eos,
    ("flash_under_load",): routing.run_flash,
    ("ws_memory", "fanout"): websocket.run,
    ("overload",): overload.run,
    ("consumer_vs_faststream",): consumer.run,
    ("correlation",): _correlation,
}


def _failed(key: str, exc: BaseException) -> Scenario:
    return Scenario(
        key=key,
        title=key,
        status="failed",
        ratio_definition="",
        target=Target(op=None),
        reason=f"{type(exc).__name__}: {exc}",
    )


async def run_all(
    ctx: Context, only: set[str] | None, broker_pid: int | None
) -> dict[str, Scenario]:
    results: dict[str, Scenario] = {}
    for keys, group in GROUPS.items():
        if only is not None and not only.intersection(keys):
            continue
        ctx.say(f"running {', '.join(keys)}")
        started = time.monotonic()
        pressure0 = machine.cpu_pressure_us()
        try:
            scenarios = await group(ctx, broker_pid)
            elapsed = time.monotonic() - started
            pressure1 = machine.cpu_pressure_us()
            for scenario in scenarios:
                extra: dict[str, object] = {}
                if pressure0 is not None and pressure1 is not None:
                    # Share of the group's wall time some runnable task waited for a core.
                    extra["cpu_pressure"] = round((pressure1 - pressure0) / 1e6 / elapsed, 3)
                results[scenario.key] = msgspec.structs.replace(
                    scenario, seconds=round(elapsed, 1), settings=scenario.settings | extra
                )
        except Exception as exc:  # noqa: BLE001 - one failed group must not lose the others
            ctx.say(f"FAILED {', '.join(keys)}: {type(exc).__name__}: {exc}")
            results.update({k: _failed(k, exc) for k in keys})
        try:
            await cell.delete_prefix(ctx.bootstrap, f"b{ctx.run_id}.")
        except Exception as exc:  # noqa: BLE001 - a leftover topic must not fail the run
            ctx.say(f"could not delete this run's topics: {exc!r}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny smoke configuration")
    parser.add_argument("--only", help="comma-separated scenario keys")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP"))
    parser.add_argument("--output", type=Path, default=RESULTS, help="results JSON path")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN, help="BENCHMARKS.md path")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    known = {k for keys in GROUPS for k in keys}
    if only is not None and not only <= known:
        parser.error(f"unknown scenarios: {', '.join(sorted(only - known))}")
    knobs = Knobs.small() if args.quick else Knobs.full()
    started = time.monotonic()
    cluster = None
    broker_pid = None
    kafka_version = "external broker (version not probed)"
    bootstrap = args.bootstrap
    if not bootstrap:
        from deploy.kafka.launcher import KafkaCluster  # noqa: PLC0415 - only when needed

        print("[bench] starting a single-node Kafka broker in .state/bench-kafka", file=sys.stderr)
        cluster = KafkaCluster.create(ROOT / ".state" / "bench-kafka", fresh=True)
        cluster.start()
        bootstrap = cluster.bootstrap
        broker_pid = cluster.nodes[0].pid
        kafka_version = cluster.nodes[0].version() or machine.kafka_jar_version()
    try:
        ctx = Context(knobs=knobs, bootstrap=bootstrap)
        ctx.say(f"broker {bootstrap}; {'quick' if knobs.quick else 'full'} run {ctx.run_id}")
        scenarios = asyncio.run(run_all(ctx, only, broker_pid))
    finally:
        if cluster is not None:
            cluster.stop()
    result = Run(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        quick=knobs.quick,
        duration_s=round(time.monotonic() - started, 1),
        machine=machine.machine(),
        versions=machine.versions(kafka_version),
        settings=msgspec.structs.asdict(knobs) | {"broker": "own" if cluster else "external"},
        scenarios=scenarios,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(msgspec.json.format(msgspec.json.encode(result)) + b"\n")
    args.markdown.write_text(report.render(result), encoding="utf-8")
    print(f"[bench] wrote {args.output} and {args.markdown}", file=sys.stderr)
    failed = [k for k, s in scenarios.items() if s.status == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
