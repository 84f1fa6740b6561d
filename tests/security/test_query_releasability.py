"""Releasability of the gateway's queries at scale: every desk sees exactly what it may see.

Random incident and case records (random classification, REL TO, restrictive categories and
exercise traffic) are written the way the services write them, onto the state topics of the
security cell (a real gateway subprocess follows them). Then each of the eleven desks lists
incidents and cases, and asks for sampled cases by id. An independent oracle, restated from
DOMAIN.md §4 here (not imported from the guard), says what each desk may see: the lists must
hold exactly that, and a case it may not see must be a 404 like an unknown id.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fault_checker import record_figures
from secure_cell import SecureCell

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from queries_records import T0, case, incident

from schemas import topics
from schemas.common import TrafficType
from schemas.desks import Desk
from schemas.labels import Classification, Policy, SecurityLabel
from services.commission.state import encode_record as encode_case
from services.monitoring.records import encode_record as encode_incident
from services.runtime import kafka
from services.runtime.settings import CommonSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INCIDENTS, CASES, SAMPLED = 600, 300, 40
NATIONS = ("USA", "UKR", "GBR", "FRA", "DEU", "POL", "ITA", "CAN", "NLD")
RANK = {  # DOMAIN §4: NATO levels and desk clearances on one scale
    Classification.NATO_UNCLASSIFIED: 0,
    Classification.NATO_RESTRICTED: 1,
    Classification.NATO_CONFIDENTIAL: 2,
    Classification.NATO_SECRET: 3,
    Classification.COSMIC_TOP_SECRET: 4,
}
CLEARANCE = {"UNCLASSIFIED": 0, "RESTRICTED": 1, "CONFIDENTIAL": 2, "SECRET": 3, "TOP_SECRET": 4}
DEADLINE_S = 120.0


def may_see(desk: Desk, label: SecurityLabel, traffic: TrafficType) -> bool:
    if traffic is TrafficType.OPERATION:
        takes_part = not desk.exercise_only
    else:
        takes_part = desk.exercise_only or desk.exercise_enabled
    return (
        takes_part
        and CLEARANCE[desk.clearance.value] >= RANK[label.classification]
        and desk.nation in label.releasable_to
        and all(c in desk.categories for c in label.restrictive_categories)
    )


def random_label(rng: random.Random) -> tuple[SecurityLabel, TrafficType]:
    label = SecurityLabel(
        policy=Policy.NATO,
        classification=rng.choice(list(RANK)),
        releasable_to=tuple(sorted(rng.sample(NATIONS, rng.randint(1, len(NATIONS))))),
        restrictive_categories=("ATOMAL",) if rng.random() < 0.15 else (),
        created_at=T0,
    )
    traffic = TrafficType.EXERCISE if rng.random() < 0.15 else TrafficType.OPERATION
    return label, traffic


async def _write(secure: SecureCell, rng: random.Random) -> dict[str, dict[str, Any]]:
    """Write the records; returns entity -> id -> (label, traffic)."""
    cell = secure.cell
    written: dict[str, dict[str, Any]] = {"incidents": {}, "cases": {}}
    producer = kafka.producer(
        CommonSettings(kafka_bootstrap=cell.bootstrap, topic_prefix=cell.prefix),
        client_id="test-query-releasability",
    )
    await kafka.start_with_retry(
        producer, what="state writer", stop=asyncio.Event(), timeout_s=DEADLINE_S
    )
    incidents_topic = topics.state_topic("incidents", prefix=cell.prefix)
    cases_topic = topics.state_topic("cases", prefix=cell.prefix)
    try:
        sends = []
        for n in range(INCIDENTS):
            label, traffic = random_label(rng)
            record = incident(
                f"inc-{n:05d}",
                lat=rng.uniform(47.0, 49.5),
                lon=rng.uniform(35.5, 39.0),
                start=T0 + timedelta(seconds=rng.uniform(0, 86_400)),
                sec=label,
                traffic=traffic,
            )
            written["incidents"][record.incident_id] = (label, traffic)
            key = record.incident_id.encode()
            sends.append(await producer.send(incidents_topic, encode_incident(record), key=key))
        for n in range(CASES):
            label, traffic = random_label(rng)
            record = case(f"case-{n:05d}", steps=rng.randint(1, 4), sec=label, traffic=traffic)
            written["cases"][record.case_id] = (label, traffic)
            key = record.case_id.encode()
            sends.append(await producer.send(cases_topic, encode_case(record), key=key))
        await asyncio.wait_for(asyncio.gather(*sends), DEADLINE_S)
    finally:
        await kafka.stop_client(producer, 30.0)
    return written


async def _wait_views(http: aiohttp.ClientSession, url: str) -> None:
    """Until the gateway's views hold every record written (they follow the topics live)."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            async with http.get(url + "/readyz") as response:
                entries = ((await response.json()).get("views") or {}).get("entries") or {}
            if entries.get("incidents") == INCIDENTS and entries.get("cases") == CASES:
                return
            await asyncio.sleep(0.5)


async def _get(http: aiohttp.ClientSession, url: str, desk: str, secure: SecureCell) -> Any:
    async with http.get(url, headers=secure.cell.auth(desk)) as response:
        return response.status, await response.json()


async def test_queries_show_each_desk_exactly_what_it_may_see(secure_cell: SecureCell) -> None:
    rng = random.Random(8118)
    written = await _write(secure_cell, rng)
    desks = list(secure_cell.cell.registry.desks)
    leaks = misses = probes = 0
    since, until = (T0 - timedelta(hours=1)).isoformat(), (T0 + timedelta(days=2)).isoformat()
    window = f"since={since}&until={until}&bbox=30,44,42,52&limit=1000".replace("+", "%2B")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        await _wait_views(http, secure_cell.url)
        for desk in desks:
            for entity, path, field in (
                ("incidents", f"/v1/incidents?{window}", "incident_id"),
                ("cases", "/v1/cases?limit=1000", "case_id"),
            ):
                status, page = await _get(http, secure_cell.url + path, desk.id, secure_cell)
                assert status == 200, page
                assert not page["truncated"], page["total"]
                shown = {item[field] for item in page[entity]}
                allowed = {i for i, (lab, tt) in written[entity].items() if may_see(desk, lab, tt)}
                leaks += len(shown - allowed)
                misses += len(allowed - shown)
            for case_id in rng.sample(sorted(written["cases"]), SAMPLED):
                status, _ = await _get(
                    http, f"{secure_cell.url}/v1/cases/{case_id}", desk.id, secure_cell
                )
                probes += 1
                expected = 200 if may_see(desk, *written["cases"][case_id]) else 404
                leaks += status == 200 and expected == 404
                misses += status == 404 and expected == 200
    record_figures(
        "7b-query-releasability",
        order=11,
        title="Releasability of the gateway queries",
        load=f"{INCIDENTS} incidents + {CASES} cases with random labels, {len(desks)} desks",
        faults="random classification, REL TO, ATOMAL, exercise traffic; lists and "
        f"{probes} by-id probes",
        unexpected=leaks,
        lost=misses,
        notes=f"records shown to a desk that may not see them: {leaks}; records hidden "
        f"from a desk that may: {misses}",
    )
    assert leaks == 0
    assert misses == 0
