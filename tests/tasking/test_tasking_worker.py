"""The tasking worker against the real broker: order, refusals, poison, restart, overdue once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka_helpers import drained, envelopes, feed, new_prefix, provision_cell, read_until  # type: ignore[import-not-found]  # on sys.path via conftest
from msgspec import structs
from test_tasking_orders import HQ, ORDER, REGISTRY, order, status  # type: ignore[import-not-found]  # via conftest

from schemas.common import TimeWindow
from schemas.envelope import Envelope
from schemas.kinds.notifications import ActionRejected, Escalation, EscalationReason
from schemas.kinds.tasking import TaskingOrder, TaskState
from schemas.precedence import LANES_HIGH_FIRST
from schemas.topics import DEADLETTER, domain_topic, state_topic, submit_topic
from services.tasking.settings import TaskingSettings
from services.tasking.state import OrderRecord, decode_record
from services.tasking.worker import run

pytestmark = pytest.mark.integration


def overdue_order() -> Envelope:
    """The test order, released two hours ago with an acknowledgement deadline already past."""
    base = order()
    now = datetime.now(UTC)
    window = TimeWindow(start=now - timedelta(hours=1), end=now + timedelta(days=1))
    assert isinstance(base.body, TaskingOrder)
    tasks = tuple(structs.replace(t, window=window) for t in base.body.tasks)
    overdue: Envelope = structs.replace(
        base,
        body=structs.replace(base.body, tasks=tasks),
        message_id=uuid.uuid4(),
        created_at=now - timedelta(hours=2),
        released_at=now - timedelta(hours=2),
        ack_by=now - timedelta(hours=1),
    )
    return overdue


def order_state(records: list[Any]) -> OrderRecord | None:
    found = [decode_record(r.value) for r in records if r.key == ORDER.encode()]
    last = found[-1] if found else None
    return last if isinstance(last, OrderRecord) else None


def escalations(records: list[Any]) -> dict[uuid.UUID, Escalation]:
    return {e.message_id: e.body for e in envelopes(records) if isinstance(e.body, Escalation)}


async def _run_until(
    settings: TaskingSettings, done: Any, topics: list[str], bootstrap: str
) -> list[Any]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop, registry=REGISTRY))
    try:
        records: list[Any] = await read_until(bootstrap, topics, done)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    return records


async def test_order_statuses_poison_restart_and_overdue_alert_once(kafka_bootstrap: str) -> None:
    prefix = new_prefix()
    await provision_cell(kafka_bootstrap, prefix)
    quiet = TaskingSettings(
        kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, tick_interval_s=3600
    )
    ticking = structs.replace(quiet, tick_interval_s=0.2)
    domain = domain_topic("tasking", prefix=prefix)
    orders = state_topic("orders", prefix=prefix)
    submits = [submit_topic(lane, prefix=prefix) for lane in LANES_HIGH_FIRST]
    group = f"{prefix}{quiet.group_id}"
    steps = [
        overdue_order(),
        status("GBR", TaskState.ACKNOWLEDGED),
        status("GBR", TaskState.WILL_COMPLY),
        status("FRA", TaskState.CANNOT_COMPLY, reason="Hull repairs until April"),
        status("POL", TaskState.ACKNOWLEDGED, desk="gbr.pjhq"),  # not the tasked nation
        b"\x00poison",
        status("GBR", TaskState.IN_PROGRESS),  # flows after the poison record
    ]
    # First run without deadline checks: every message handled, nothing overdue raised yet.
    stop = asyncio.Event()
    task = asyncio.create_task(run(quiet, stop, registry=REGISTRY))
    await feed(kafka_bootstrap, domain, steps)
    await drained(kafka_bootstrap, group, domain)
    stop.set()
    await asyncio.wait_for(task, 60)
    record = order_state(await read_until(kafka_bootstrap, [orders], lambda rs: len(rs) >= 5))
    assert record is not None
    assert {t.task_id: t.state for t in record.tasks} == {
        "t-gbr": TaskState.IN_PROGRESS,
        "t-fra": TaskState.CANNOT_COMPLY,
        "t-pol": TaskState.RECEIVED,
    }
    (letter,) = await read_until(
        kafka_bootstrap, [f"{prefix}{DEADLETTER}"], lambda rs: len(rs) >= 1
    )
    assert letter.value == b"\x00poison"
    # Restarted with deadline checks: state rebuilt from the compacted topic, one alert for POL.
    out = await _run_until(ticking, lambda rs: bool(escalations(rs)), submits, kafka_bootstrap)
    (alert,) = escalations(out).values()
    assert alert.reason is EscalationReason.ACK_OVERDUE
    assert alert.outstanding == ("pol.mon",)
    rejected = [e.body for e in envelopes(out) if isinstance(e.body, ActionRejected)]
    assert [r.code.value for r in rejected] == ["NOT_AUTHORISED"]
    # Restarted again: the alert is recorded as raised, the replayed input changes nothing.
    await feed(kafka_bootstrap, domain, [s for s in steps if not isinstance(s, bytes)])
    stop = asyncio.Event()
    task = asyncio.create_task(run(ticking, stop, registry=REGISTRY))
    await drained(kafka_bootstrap, group, domain)
    stop.set()
    await asyncio.wait_for(task, 60)
    out = await read_until(kafka_bootstrap, submits, lambda rs: len(rs) >= 2)
    assert len(escalations(out)) == 1
    final = order_state(await read_until(kafka_bootstrap, [orders], lambda rs: len(rs) >= 6))
    assert final is not None
    assert final.issuer == HQ
    assert [t.alerted for t in final.tasks if t.task_id == "t-pol"] == [("ack:0",)]
