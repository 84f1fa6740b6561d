"""Schemathesis against the live gateway's own OpenAPI document, authenticated.

`st run` (a subprocess, the tool's supported interface) generates cases for every operation
of `/v1/openapi.json` with a desk's bearer token and runs all its checks: no server error,
documented status codes, content types, headers and response schemas. At least 5,000 cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_cell import token_of
from fault_checker import FIGURES, record_figures
from secure_cell import SecureCell, start_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MIN_CASES = 5_000
# Per operation (18 operations; a few have tiny input spaces and stop early): about 10,000
# cases in all, within the suite's budget on 2 cores. The coverage
# phase is off: under CPython 3.11.7 it intermittently crashed inside hypothesis's lambda
# description (`SystemError: AST constructor recursion depth mismatch`), a tool error that
# failed the run after every case had passed.
MAX_EXAMPLES = 550
# Checks of the acceptance (no 5xx, responses conform to the document), ignored auth and
# unsupported methods included. Left out, and reported as findings for the gateway owner:
# request-schema precision (the gateway validates more than JSON Schema says: registered
# nations, CANNOT_COMPLY needs a reason, a malformed traceparent is replaced not refused,
# per-item 207s in batches) and "created resource available" (a message's status appears
# once the router audited it, not at 202). The stateful phase is left out for time.
EXCLUDED = "positive_data_acceptance,negative_data_rejection,ensure_resource_availability"


def _st() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert found, "schemathesis is not installed (pip install schemathesis)"
    return found


@pytest.fixture(scope="module")
def fuzzed_cell(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecureCell]:
    # A generous publish deadline: this run is about input handling, and a 503 from a busy
    # shared broker would count as a server error.
    secure = start_cell(
        kafka_bootstrap,
        tmp_path_factory.mktemp("fuzzed"),
        CELL_PUBLISH_DEADLINE_S="60",
        CELL_INBOX_MAX_WAIT_S="0.2",  # generated `wait` values must not make long-polls
    )
    try:
        yield secure
    finally:
        asyncio.run(secure.cell.stop_all())


@pytest.mark.timeout(1200)
def test_schemathesis_finds_no_server_error_and_conformant_responses(
    fuzzed_cell: SecureCell,
) -> None:
    secure_cell = fuzzed_cell
    work = FIGURES.parent / "schemathesis"
    work.mkdir(parents=True, exist_ok=True)
    report = work / "report.ndjson"
    cmd = [
        _st(),
        "run",
        secure_cell.url + "/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token_of('ukr.gs')}",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED,
        "--phases",
        "fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "4774",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--warnings",
        "off",
        "--no-color",
    ]
    env = os.environ | {"NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(  # noqa: S603 - fixed argv
        cmd, capture_output=True, text=True, timeout=1100, check=False, env=env
    )
    output = result.stdout + result.stderr
    (work / "output.txt").write_text(output)
    cases = _count_cases(report, output)
    server_errors = output.count("Server error")
    version = subprocess.run(  # noqa: S603
        [_st(), "--version"], capture_output=True, text=True, timeout=60, check=False
    ).stdout.strip()
    record_figures(
        "8-schemathesis",
        order=7,
        title="Schemathesis on the gateway's OpenAPI document",
        load=f"{cases} generated cases, all operations, bearer-authenticated ({version})",
        faults=f"property-based bodies, parameters, headers; all checks but {EXCLUDED}",
        server_errors=server_errors,
        unexpected=0 if result.returncode == 0 else "see report",
        notes=output.strip().splitlines()[-1] if output.strip() else "",
    )
    assert result.returncode == 0, output[-6000:]
    assert cases >= MIN_CASES, output[-3000:]
    assert secure_cell.gateway.alive()


def _count_cases(report: Path, output: str) -> int:
    """Test cases sent, from the NDJSON events (falling back to the summary line)."""
    total = 0
    if report.exists():
        for line in report.read_text().splitlines():
            event = json.loads(line)
            for name, body in event.items():
                if name == "ScenarioFinished" and isinstance(body, dict):
                    recorder = body.get("recorder", {})
                    total += len(recorder.get("cases", {}))
    if total:
        return total
    match = re.search(r"(\d[\d,]*) (?:generated|test cases)", output)
    return int(match.group(1).replace(",", "")) if match else 0
