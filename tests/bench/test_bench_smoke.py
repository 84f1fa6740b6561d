"""Smoke run of the benchmark harness: every implemented scenario, tiny, on the real broker.

Checks the JSON shape and that both arms produced positive figures; never timings.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import msgspec
import pytest

from bench.__main__ import GROUPS, main
from bench.results import Run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

IMPLEMENTED = sorted(k for keys in GROUPS for k in keys)


def _positive(arm: object) -> bool:
    rate = getattr(arm, "rate", None)
    latency = getattr(arm, "latency", None)
    if rate is not None:
        return rate.median > 0 and rate.low > 0
    return latency is not None and latency.count > 0 and latency.p50_ms > 0


@pytest.mark.timeout(900)
def test_quick_run_writes_results_for_every_scenario(kafka_bootstrap: str, tmp_path: Path):
    output, markdown = tmp_path / "latest.json", tmp_path / "BENCHMARKS.md"
    code = main(
        [
            "--quick",
            "--bootstrap",
            kafka_bootstrap,
            "--output",
            str(output),
            "--markdown",
            str(markdown),
        ]
    )
    run = msgspec.json.decode(output.read_bytes(), type=Run)
    failed = {k: s.reason for k, s in run.scenarios.items() if s.status == "failed"}
    assert code == 0, failed
    assert run.quick
    for key in IMPLEMENTED:
        scenario = run.scenarios[key]
        if key == "consumer_vs_faststream" and importlib.util.find_spec("faststream") is None:
            # A benchmark-only dependency: without it the scenario says so, and nothing else.
            assert scenario.status == "not_run"
            assert "faststream" in scenario.reason.lower()
            continue
        assert scenario.status == "ok", (key, scenario.reason)
        assert scenario.ratio is not None
        assert len(scenario.ratio.values) == run.settings["repeats"]
        if key == "ws_memory":
            # Bytes per idle session from two RSS readings: at the quick run's 100 sessions
            # the allocator's own noise can exceed what the sessions take, either way.
            assert all(abs(v) < 1024 * 1024 for v in scenario.ratio.values), scenario.ratio
            continue
        assert scenario.ratio.median > 0
        assert _positive(scenario.ours), key
        assert _positive(scenario.baseline), key
    # The router scenario measures routing: every injected record is delivered, none refused.
    eos = run.scenarios["router_eos"].ours
    assert eos is not None
    assert eos.notes["router_routed_share"] == 1.0
    # The servers under test were profiled (py-spy) or say why not.
    for key in ("publish_single", "publish_batch", "router_eos", "fanout"):
        profiled = run.scenarios[key].profile
        assert profiled is not None, key
        assert profiled.samples > 0 or profiled.error, key
    text = markdown.read_text(encoding="utf-8")
    assert "QUICK" in text
    for key in run.scenarios:
        assert f"`{key}`" in text


def test_unknown_scenario_is_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        main(["--only", "no_such_scenario", "--bootstrap", "127.0.0.1:1"])
    assert "unknown scenarios" in capsys.readouterr().err
