"""The daily violations summary on the real broker: on demand, scheduled, once across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from kafka_helpers import (
    DEADLINE_S,
    drained,
    envelopes,
    feed,
    new_prefix,
    provision_cell,
    read_until,
)

from schemas.common import TrafficType
from schemas.desks import load_registry
from schemas.envelope import Envelope
from schemas.kinds.monitoring import CompassPoint
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.kinds.summary import SummaryRequest, SummaryTrigger, ViolationSummary
from schemas.precedence import LANES_HIGH_FIRST, Precedence
from schemas.topics import domain_topic, state_topic, submit_topic
from services.monitoring import scenario
from services.monitoring.geo import load_geo
from services.monitoring.records import SUMMARY_MARK_KEY, SummaryMark, decode_mark, encode_mark
from services.monitoring.settings import MonitoringSettings
from services.monitoring.summary import due_period_end, parse_time_of_day
from services.monitoring.worker import run

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GEO = load_geo(ROOT / "deploy/geo/ceasefire-zones.geojson")
DESKS = load_registry(ROOT / "deploy/desks/demo.json")
CENTRE = "WZ-CENTRE Siversk-Vuhledar"
REAR = (47.95, 34.20)


class Worker:
    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.settings = MonitoringSettings(
            kafka_bootstrap=bootstrap, topic_prefix=prefix, poll_timeout_ms=100, tick_interval_s=0.2
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(run(self.settings, self.stop, geo=GEO, registry=DESKS))

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


def rear_report(start: datetime, now: datetime) -> Envelope:
    obs = scenario.heard("obs-1", REAR, bearing=CompassPoint.E, distance_m=4000.0, start=start)
    return scenario.report_envelope("gbr.pjhq", "Team Rear-1", [obs], now=now)


def summary_request(originator: str, now: datetime) -> Envelope:
    return Envelope(
        message_id=uuid.uuid4(),
        traffic_type=TrafficType.OPERATION,
        originator=originator,
        action_to=("svc.monitoring",),
        primary_precedence=Precedence.PRIORITY,
        copy_precedence=Precedence.PRIORITY,
        label=scenario.label(now, ("FRA", "GBR")),
        subject="Violations summary, please",
        created_at=now,
        released_at=now,
        body=SummaryRequest(),
    )


def answers(records: list, to: uuid.UUID) -> list[Envelope]:  # type: ignore[type-arg]
    return [e for e in envelopes(records) if e.in_reply_to == to]


def scheduled(records: list) -> list[ViolationSummary]:  # type: ignore[type-arg]
    return [
        e.body
        for e in envelopes(records)
        if isinstance(e.body, ViolationSummary) and e.body.trigger is SummaryTrigger.SCHEDULED
    ]


async def write_mark(bootstrap: str, topic: str, period_end: datetime) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    try:
        value = encode_mark(SummaryMark(period_end=period_end))
        await asyncio.wait_for(
            producer.send_and_wait(topic, value, key=SUMMARY_MARK_KEY), DEADLINE_S
        )
    finally:
        await asyncio.wait_for(producer.stop(), DEADLINE_S)


async def test_summary_on_demand_scheduled_once_across_restarts(
    cell: tuple[str, str, Worker],
) -> None:
    bootstrap, prefix, worker = cell
    now = datetime.now(UTC)
    due = due_period_end(now, parse_time_of_day(worker.settings.summary_at))
    domain = domain_topic("monitoring", prefix=prefix)
    incidents = state_topic("incidents", prefix=prefix)
    submits = [submit_topic(lane, prefix=prefix) for lane in LANES_HIGH_FIRST]
    group = f"{prefix}{worker.settings.group_id}"

    # Two days of observation time: three monitors on one impact in the central withdrawal
    # zone and one in the rear in the last period, one in the rear in the period before.
    worker.start()
    reports = [
        *scenario.three_monitors(scenario.IN_ZONE, now=now, start=due - timedelta(hours=5)),
        rear_report(due - timedelta(hours=10), now),
        rear_report(due - timedelta(hours=30), now),
    ]
    await feed(bootstrap, domain, list(reports))
    await drained(bootstrap, group, domain)

    # On demand: WATCH gets the figures for the 24 h ending at its request's release; a
    # desk without WATCH or COMMISSION is refused with the reason.
    asked = summary_request("cell.watch", due)  # released at the scheduled time
    refused = summary_request("gbr.pjhq", now)
    await feed(bootstrap, domain, [asked, refused])
    out = await read_until(
        bootstrap,
        submits,
        lambda rs: bool(answers(rs, asked.message_id)) and bool(answers(rs, refused.message_id)),
    )
    (answer,) = answers(out, asked.message_id)
    assert isinstance(answer.body, ViolationSummary)
    assert answer.action_to == ("cell.watch",)
    assert answer.originator == "svc.monitoring"
    assert answer.body.period_end == due
    rows = {(r.region, r.event_type.value): (r.count, r.previous_count) for r in answer.body.rows}
    assert rows == {(CENTRE, "EXPLOSION"): (1, 0), ("AOR-EAST", "EXPLOSION"): (1, 1)}
    assert (answer.body.total, answer.body.previous_total, answer.body.total_delta) == (2, 1, 1)
    (rejection,) = answers(out, refused.message_id)
    assert isinstance(rejection.body, ActionRejected)
    assert rejection.body.code is RejectionCode.NOT_AUTHORISED
    # A first run starts with the next period: nothing scheduled went out.
    assert scheduled(out) == []
    await read_until(bootstrap, [incidents], lambda rs: any(r.key == SUMMARY_MARK_KEY for r in rs))

    # As if the service had been stopped after yesterday's summary went out (that mark last
    # on the state topic): at start it sends today's, once, with its mark in the same
    # transaction.
    await worker.halt()
    await write_mark(bootstrap, incidents, due - timedelta(days=1))
    worker.start()
    out = await read_until(bootstrap, submits, lambda rs: bool(scheduled(rs)))
    (daily,) = scheduled(out)
    assert daily.period_end == due
    assert (daily.total, daily.previous_total) == (2, 1)
    (envelope,) = [e for e in envelopes(out) if e.body == daily]
    assert envelope.action_to == ("COMMISSION", "ROLE:WATCH")
    marks = await read_until(
        bootstrap,
        [incidents],
        lambda rs: any(
            r.key == SUMMARY_MARK_KEY and decode_mark(r.value).period_end == due for r in rs
        ),
    )
    # The first run's mark (the schedule starts), the one written above, today's.
    assert [decode_mark(r.value).period_end for r in marks if r.key == SUMMARY_MARK_KEY] == [
        due,
        due - timedelta(days=1),
        due,
    ]

    # Restart: the mark comes back with the state; ticks run, nothing is scheduled again. A
    # second request answered after the restart proves the worker has been up and ticking.
    await worker.halt()
    worker.start()
    again = summary_request("cell.commission-1", now)
    await feed(bootstrap, domain, [again])
    out = await read_until(bootstrap, submits, lambda rs: bool(answers(rs, again.message_id)))
    await worker.halt()
    out = await read_until(bootstrap, submits, lambda rs: len(rs) >= len(out))
    assert [s.period_end for s in scheduled(out)] == [due]
