"""kill -9 a domain service mid-scenario on the 3-node cluster: the outcome is unchanged.

Monitoring, as a real subprocess, gets the three-monitor scenario (three teams reporting one
impact: one incident, corroborated three times, one breach case opened). It is killed after
the first report, while the second arrives, and again right after the third; each time it
restarts from its compacted state and committed offsets. The outcome must be exactly the
uninterrupted one: one incident at corroboration 3 and one case-opening action, no output
written twice. A poison sentinel fed last proves the input was consumed to its end.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fault_cell import FaultCell, Proc, token_of
from fault_checker import record_figures

from deploy.kafka.launcher import KafkaCluster
from schemas import codec, topics
from schemas.desks import Desk, DeskRegistry
from schemas.kinds.commission_actions import CaseAction
from services.monitoring import scenario
from services.monitoring.records import decode_record
from services.runtime.deadletter import HEADER_REASON

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

_DESKS = (
    ("gbr.pjhq", "GBR", "SECRET", ["MONITOR"]),
    ("fra.cell", "FRA", "SECRET", ["MONITOR"]),
    ("pol.mon", "POL", "SECRET", ["MONITOR"]),
    ("can.cjoc", "CAN", "SECRET", ["COMMISSION"]),
    ("cell.watch", "FRA", "TOP_SECRET", ["WATCH", "FLASH"]),
    ("svc.monitoring", "FRA", "TOP_SECRET", ["SERVICE"]),
    ("svc.commission", "FRA", "TOP_SECRET", ["SERVICE"]),
)
REGISTRY = DeskRegistry(
    desks=tuple(
        msgspec.convert(
            {
                "id": d,
                "nation": n,
                "clearance": c,
                "roles": r,
                "token_sha256": [hashlib.sha256(token_of(d).encode()).hexdigest()],
            },
            Desk,
        )
        for d, n, c, r in _DESKS
    )
)


async def _produce(bootstrap: str, topic: str, items: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), 30)
    try:
        for item in items:
            if isinstance(item, bytes):
                await asyncio.wait_for(producer.send_and_wait(topic, item, key=b"poison"), 60)
            else:
                key = topics.KeyRule.ENTITY.key_for(item)
                value = codec.encode(item)
                headers = codec.headers(item)
                await asyncio.wait_for(
                    producer.send_and_wait(topic, value, key=key, headers=headers), 60
                )
    finally:
        await asyncio.wait_for(producer.stop(), 30)


async def _read_until(
    bootstrap: str, names: list[str], done: Callable[[list[Any]], bool], timeout_s: float = 120
) -> list[Any]:
    """Every committed record of ``names`` from the start, once ``done`` holds (to the end)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        cluster = await asyncio.wait_for(consumer._client.fetch_all_metadata(), 30)
        tps = [TopicPartition(t, p) for t in names for p in sorted(cluster.partitions_for_topic(t))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=300), 60)
            records.extend(r for part in batch.values() for r in part)
            if done(records):
                ends = await consumer.end_offsets(tps)
                if all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                    return records
            assert loop.time() < deadline, f"not reached in {timeout_s}s ({len(records)} read)"
    finally:
        await asyncio.wait_for(consumer.stop(), 30)


def _corroboration(records: list[Any]) -> int:
    latest = {r.key: decode_record(r.value) for r in records if r.value is not None}
    return max((rec.incident.corroboration_count for rec in latest.values()), default=0)


async def test_monitoring_kill9_mid_scenario_outcome_unchanged(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    cell = FaultCell(cluster.bootstrap, tmp_path / "cell", registry=REGISTRY)
    await cell.provision()
    bootstrap = cell.bootstrap
    domain = topics.domain_topic("monitoring", prefix=cell.prefix)
    incidents = topics.state_topic("incidents", prefix=cell.prefix)
    submits = cell.submit_topics()
    reports = scenario.three_monitors(scenario.OUTSIDE_ZONE, now=datetime.now(UTC))
    env = {"CELL_LOG_LEVEL": "INFO", "CELL_POLL_TIMEOUT_MS": "100"}
    kills = 0

    def start() -> Proc:
        return cell.spawn("services.monitoring", **env)

    try:
        monitoring = start()
        await _produce(bootstrap, domain, reports[:1])
        await _read_until(bootstrap, [incidents], lambda rs: _corroboration(rs) >= 1)
        await monitoring.kill9()
        kills += 1
        await _produce(bootstrap, domain, reports[1:2])  # arrives while it is down
        monitoring = start()
        await _read_until(bootstrap, [incidents], lambda rs: _corroboration(rs) >= 2)
        await _produce(bootstrap, domain, reports[2:])
        await monitoring.kill9()  # right after the third report: maybe mid-transaction
        kills += 1
        monitoring = start()
        sentinel = b"\x00sentinel " + uuid.uuid4().bytes
        await _produce(bootstrap, domain, [sentinel])
        deadletter = f"{cell.prefix}{topics.DEADLETTER}"
        await _read_until(
            bootstrap, [deadletter], lambda rs: any(r.value == sentinel for r in rs), 180
        )
        state = await _read_until(bootstrap, [incidents], lambda rs: _corroboration(rs) >= 3)
        out = await _read_until(bootstrap, submits, lambda _: True)
        letters = await _read_until(bootstrap, [deadletter], lambda _: True)
        assert await monitoring.stop() == 0, monitoring.log_tail()
    finally:
        await cell.stop_all()
    latest = {r.key: decode_record(r.value) for r in state if r.value is not None}
    envelopes = [codec.decode(r.value) for r in out if r.value is not None]
    copies = Counter(str(e.message_id) for e in envelopes)
    cases = [e for e in envelopes if isinstance(e.body, CaseAction)]
    reasons = [dict(r.headers or ()).get(HEADER_REASON) for r in letters]
    record_figures(
        "6-service-kill",
        order=6,
        title="Domain service kill -9 mid-scenario (monitoring)",
        load="three-monitor scenario: 3 reports -> 1 incident, 1 breach case; + sentinel",
        faults=f"kill -9 monitoring x{kills} (after report 1; right after report 3), restart",
        acknowledged=len(reports),
        delivered=len(cases),
        lost=0 if len(latest) == 1 and len(cases) == 1 else 1,
        duplicated=sum(n - 1 for n in copies.values()),
        unexpected=len(latest) - 1 + max(0, len(cases) - 1),
        server_errors=0,
        recovery="-",
        notes=f"{len(latest)} incident(s), corroboration "
        f"{max(r.incident.corroboration_count for r in latest.values())}, {len(cases)} case "
        f"action(s), {len(envelopes)} outputs, dead letters {reasons}",
    )
    assert len(latest) == 1, latest
    (incident,) = latest.values()
    assert incident.incident.corroboration_count == 3
    assert incident.incident.referred_case_id is not None
    assert [c.body.case_id for c in cases if isinstance(c.body, CaseAction)] == [
        incident.incident.referred_case_id
    ]
    assert set(copies.values()) == {1}, copies
    assert reasons == [b"undecodable"]
