"""kill -9 of the router process mid-stream, then a restart: exactly one copy per recipient."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import msgspec
import pytest
from router_cell import Cell
from router_helpers import REGISTRY, envelope, read, read_to_end, submit

from schemas import codec
from schemas.precedence import Precedence

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = 5_000
ROOT = Path(__file__).resolve().parents[2]


def _start(cell: Cell, desks: Path, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "CELL_KAFKA_BOOTSTRAP": cell.bootstrap,
        "CELL_TOPIC_PREFIX": cell.prefix,
        "CELL_DESKS_FILE": str(desks),
        "CELL_LOG_FORMAT": "json",
        "CELL_LOG_LEVEL": "WARNING",
        "CELL_BATCH_MAX_RECORDS": "200",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.router"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def test_kill_9_mid_stream_then_restart(cell: Cell, tmp_path: Path) -> None:
    desks = tmp_path / "desks.json"
    desks.write_bytes(msgspec.json.encode(REGISTRY))
    log = tmp_path / "router.log"
    originators = ["usa.eucom", "fra.cell", "ukr.mod", "cell.watch"]
    stream = [
        envelope(
            originators[i % 4], ["gbr.cell"], info_to=["deu.cell"], precedence=Precedence.ROUTINE
        )
        for i in range(MESSAGES)
    ]
    expected = {str(m.message_id) for m in stream}
    gbr, deu = cell.inbox("gbr.cell", "routine"), cell.inbox("deu.cell", "routine")

    router = _start(cell, desks, log)
    try:
        producing = asyncio.create_task(submit(cell.producer, cell.prefix, *stream))
        seen = await read(cell.bootstrap, [gbr], until=lambda rs: len(rs) >= 500, timeout_s=120)
        router.send_signal(signal.SIGKILL)
        await asyncio.to_thread(router.wait, 30)
        assert len(seen) < MESSAGES, "the router finished before it could be killed"
        await asyncio.wait_for(producing, 120)
        router = _start(cell, desks, log)

        def done(records: list) -> bool:
            return len({r.key for r in records if r.topic == gbr}) >= MESSAGES and (
                len({r.key for r in records if r.topic == deu}) >= MESSAGES
            )

        await read(cell.bootstrap, [gbr, deu], until=done, timeout_s=150)
        records = await read_to_end(cell.bootstrap, [gbr, deu])
    finally:
        router.send_signal(signal.SIGTERM)
        await asyncio.to_thread(router.wait, 60)
    for topic in (gbr, deu):
        counts = Counter(r.key.decode() for r in records if r.topic == topic)
        assert set(counts) == expected, log.read_text()[-2000:]
        assert set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1][:5]
        assert all(codec.decode(r.value).message_id for r in records if r.topic == topic)
