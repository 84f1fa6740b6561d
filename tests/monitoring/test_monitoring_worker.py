"""The monitoring worker against the real broker: incidents, one case, refusals, restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka_helpers import drained, envelopes, feed, new_prefix, provision_cell, read_until

from schemas.kinds.commission_actions import CaseAction
from schemas.kinds.monitoring import CompassPoint
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.precedence import LANES_HIGH_FIRST
from schemas.topics import DEADLETTER, domain_topic, state_topic, submit_topic
from services.monitoring import scenario
from services.monitoring.geo import load_geo
from services.monitoring.records import decode_record
from services.monitoring.settings import MonitoringSettings
from services.monitoring.worker import run
from services.runtime.deadletter import HEADER_REASON

pytestmark = pytest.mark.integration
GEO = load_geo(Path(__file__).resolve().parents[2] / "deploy/geo/ceasefire-zones.geojson")


class Worker:
    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.settings = MonitoringSettings(
            kafka_bootstrap=bootstrap, topic_prefix=prefix, poll_timeout_ms=100
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run(self.settings, self.stop, geo=GEO))

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 60)


@pytest.fixture
async def cell(kafka_bootstrap: str) -> AsyncIterator[tuple[str, str, Worker]]:
    prefix = new_prefix()
    await provision_cell(kafka_bootstrap, prefix)
    worker = Worker(kafka_bootstrap, prefix)
    try:
        yield kafka_bootstrap, prefix, worker
    finally:
        with contextlib.suppress(Exception):
            await worker.halt()


def _latest(records: list) -> dict:  # type: ignore[type-arg]
    latest = {}
    for r in records:
        latest[r.key] = decode_record(r.value)
    return latest


async def test_three_monitors_one_case_survives_restart_and_replay(
    cell: tuple[str, str, Worker],
) -> None:
    bootstrap, prefix, worker = cell
    now = datetime.now(UTC)
    reports = scenario.three_monitors(scenario.OUTSIDE_ZONE, now=now)
    domain = domain_topic("monitoring", prefix=prefix)
    incidents = state_topic("incidents", prefix=prefix)
    submits = [submit_topic(lane, prefix=prefix) for lane in LANES_HIGH_FIRST]
    worker.start()
    await feed(bootstrap, domain, [reports[0], reports[1], b"{not an envelope", reports[2]])

    def corroborated(records: list) -> bool:  # type: ignore[type-arg]
        return any(r.incident.corroboration_count == 3 for r in _latest(records).values())

    state = _latest(await read_until(bootstrap, [incidents], corroborated))
    assert len(state) == 1
    (record,) = state.values()
    case_id = record.incident.referred_case_id
    assert case_id is not None
    opened = envelopes(
        await read_until(
            bootstrap, submits, lambda rs: any(b"commission.action" in r.value for r in rs)
        )
    )
    assert [e.body.case_id for e in opened if isinstance(e.body, CaseAction)] == [case_id]
    letters = await read_until(bootstrap, [f"{prefix}{DEADLETTER}"], lambda rs: len(rs) >= 1)
    assert letters[0].value == b"{not an envelope"
    assert (HEADER_REASON, b"undecodable") in letters[0].headers

    # Restart: state comes back from the compacted topic; the whole input is replayed (new
    # group offsets are irrelevant: the same envelopes are fed again) and a refused report
    # follows, proving the worker still flows. No second case, no changed incident.
    await worker.halt()
    worker.start()
    late = scenario.heard(
        "obs-9",
        scenario.OUTSIDE_ZONE,
        bearing=CompassPoint.E,
        distance_m=4000.0,
        start=now + timedelta(hours=5),
    )
    refused = scenario.report_envelope("gbr.pjhq", "Team Bakhmut-1", [late], now=now)
    await feed(bootstrap, domain, [*reports, refused])
    out = envelopes(
        await read_until(
            bootstrap, submits, lambda rs: any(b"notify.rejected" in r.value for r in rs)
        )
    )
    await drained(bootstrap, f"{prefix}{worker.settings.group_id}", domain)
    out = envelopes(await read_until(bootstrap, submits, lambda rs: len(rs) >= len(out)))
    rejections = [e for e in out if isinstance(e.body, ActionRejected)]
    assert [e.action_to for e in rejections] == [("gbr.pjhq",)]
    details = [e.body.detail for e in rejections if isinstance(e.body, ActionRejected)]
    assert "in the future" in details[0]
    codes = [e.body.code for e in rejections if isinstance(e.body, ActionRejected)]
    assert codes == [RejectionCode.IMPLAUSIBLE_DATA]
    assert [e.body.case_id for e in out if isinstance(e.body, CaseAction)] == [case_id]
    after = _latest(await read_until(bootstrap, [incidents], lambda rs: len(rs) >= 1))
    assert after == state
