"""Releasability at scale: 10,000 random messages across eleven desks of nine nations and every
clearance, through the real gateway and router, with zero leaks.

An independent oracle (written here from DOMAIN.md §4, not imported from the guard) decides
for every (message, addressee) whether it may be delivered. Then:

- inboxes (read_committed): each permitted addressee has exactly one copy, nobody else any;
- router reports: exactly one per (message, addressee) in the originator's inbox, a delivery
  report when permitted and a non-delivery report otherwise, and none anywhere else;
- status, receipts and errors: a desk that is no party, or an addressee refused by the guard,
  gets the same 404 as for a message that does not exist, with nothing of the message in it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from fault_checker import Inboxes, Ledger, record_figures
from secure_cell import SecureCell

from schemas.desks import Desk
from services.router.reports import report_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = 10_000
NATIONS = ("USA", "UKR", "GBR", "FRA", "DEU", "POL", "ITA", "CAN", "NLD")
LEVELS = {  # NATO level -> normalised rank (DOMAIN §4)
    "NATO UNCLASSIFIED": 0,
    "NATO RESTRICTED": 1,
    "NATO CONFIDENTIAL": 2,
    "NATO SECRET": 3,
    "COSMIC TOP SECRET": 4,
}
CLEARANCE = {"UNCLASSIFIED": 0, "RESTRICTED": 1, "CONFIDENTIAL": 2, "SECRET": 3, "TOP_SECRET": 4}


def takes_part(desk: Desk, traffic_type: str) -> bool:
    if traffic_type == "OPERATION":
        return not desk.exercise_only
    return desk.exercise_only or desk.exercise_enabled


def permitted(origin: Desk, desk: Desk, item: dict[str, Any]) -> bool:
    """DOMAIN §4 rule 2, restated independently of services/router/guard.py; an originator
    that takes no part in exercises may not originate exercise traffic at all."""
    label = item["label"]
    if not (takes_part(origin, item["traffic_type"]) and takes_part(desk, item["traffic_type"])):
        return False
    return (
        CLEARANCE[desk.clearance.value] >= LEVELS[label["classification"]]
        and desk.nation in label["releasable_to"]
        and all(c in desk.categories for c in label.get("restrictive_categories", ()))
    )


def random_item(rng: random.Random, origin: Desk, desks: list[Desk]) -> dict[str, Any]:
    others = [d.id for d in desks if d.id != origin.id]
    addressees = rng.sample(others, rng.randint(1, 5))
    split = rng.randint(1, len(addressees))
    # Exercise traffic only from desks that may send it (the gateway refuses the others).
    exercise = origin.exercise_only or (origin.exercise_enabled and rng.random() < 0.15)
    lanes = ["ROUTINE", "PRIORITY", "IMMEDIATE"] + (["FLASH"] if "FLASH" in origin.roles else [])
    label: dict[str, Any] = {
        "policy": "NATO",
        "classification": rng.choice(list(LEVELS)),
        "releasable_to": rng.sample(NATIONS, rng.randint(1, len(NATIONS))),
        "created_at": datetime.now(UTC).isoformat(),
    }
    if rng.random() < 0.15:
        label["restrictive_categories"] = ["ATOMAL"]
    message_id = str(uuid.uuid4())
    return {
        "message_id": message_id,
        "traffic_type": "EXERCISE" if exercise else "OPERATION",
        "action_to": addressees[:split],
        "info_to": addressees[split:],
        "primary_precedence": rng.choice(lanes),
        "label": label,
        "subject": f"canary subject {message_id[:8]}",
        "body": {
            "kind": "liaison.message.v1",
            "topic": "COORDINATION",
            "text": f"canary-{message_id}",
        },
    }


async def _submit(
    secure: SecureCell, jobs: list[tuple[Desk, list[dict[str, Any]]]], ledger: Ledger
) -> None:
    queue = list(jobs)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def worker() -> None:
            while queue:
                origin, items = queue.pop()
                pending = items
                while pending:
                    async with http.post(
                        secure.url + "/v1/messages:batch",
                        json={"submissions": pending},
                        headers=secure.cell.auth(origin.id),
                    ) as response:
                        ledger.statuses[response.status] += 1
                        if response.status == 503:
                            await asyncio.sleep(1)
                            continue
                        assert response.status in {202, 207}, await response.text()
                        result = await response.json()
                    retry = []
                    for entry in result["results"]:
                        ledger.statuses[entry["status"]] += 1
                        if entry["status"] == 202:
                            ledger.ack(entry["accepted"]["message_id"])
                        elif entry["status"] == 503:
                            retry.append(pending[entry["index"]])
                    pending = retry

        async with asyncio.TaskGroup() as group:
            for _ in range(4):
                group.create_task(worker())


async def test_ten_thousand_random_messages_zero_leaks(secure_cell: SecureCell) -> None:
    cell = secure_cell.cell
    desks = list(cell.registry.desks)
    by_id = {d.id: d for d in desks}
    rng = random.Random(4774)
    ledger = Ledger()
    items: dict[str, tuple[Desk, dict[str, Any]]] = {}
    jobs = []
    for _ in range(MESSAGES // 100):
        origin = rng.choice(desks)
        batch = [random_item(rng, origin, desks) for _ in range(100)]
        for item in batch:
            addressees = [*item["action_to"], *item["info_to"]]
            allowed = [a for a in addressees if permitted(origin, by_id[a], item)]
            ledger.attempt(item["message_id"], allowed)
            items[item["message_id"]] = (origin, item)
        jobs.append((origin, batch))
    await _submit(secure_cell, jobs, ledger)
    assert len(ledger.acked) == MESSAGES, ledger.statuses

    expected_reports: Counter[tuple[str, str]] = Counter()
    for message_id, (origin, item) in items.items():
        for addressee in [*item["action_to"], *item["info_to"]]:
            what = "delivery" if addressee in ledger.expected[message_id] else "non_delivery"
            expected_reports[
                (str(report_id(uuid.UUID(message_id), what, addressee)), origin.id)
            ] = 1

    async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
        converged = await inboxes.wait_until(
            lambda ib: ib.has_all(ledger) and len(ib.reports) >= len(expected_reports), 300
        )
        await inboxes.read_to_end()
    verdict = inboxes.verdict(ledger)
    refused = sum(len(i["action_to"]) + len(i["info_to"]) for _, i in items.values()) - sum(
        len(v) for v in ledger.expected.values()
    )
    wrong_reports = set(inboxes.reports) ^ set(expected_reports)
    leaks_via_api = await _probe_status_and_receipts(secure_cell, items, ledger, rng)
    record_figures(
        "7-releasability-scale",
        order=11,
        title="Releasability at scale (gateway + router)",
        load=f"{MESSAGES} random messages, {len(desks)} desks, 9 nations, 5 clearances",
        faults="random labels, categories, exercise traffic; status/receipt probes by "
        "non-parties and refused addressees",
        acknowledged=verdict.acknowledged,
        delivered=verdict.delivered,
        lost=verdict.lost,
        duplicated=verdict.duplicated + verdict.report_duplicates,
        unexpected=verdict.unexpected + len(wrong_reports) + leaks_via_api,
        server_errors=sum(n for s, n in ledger.statuses.items() if s >= 500 and s != 503),
        recovery="-",
        notes=f"{refused} addressees refused by the guard (non-delivery reports checked "
        f"one by one); leaks through inboxes {verdict.unexpected}, through reports "
        f"{len(wrong_reports)}, through status/receipts/errors {leaks_via_api}",
        verdict=verdict,
    )
    assert converged, verdict
    verdict.assert_clean()
    assert not wrong_reports, list(wrong_reports)[:5]
    assert all(n == 1 for n in inboxes.reports.values())
    assert leaks_via_api == 0


async def _probe_status_and_receipts(
    secure: SecureCell,
    items: dict[str, tuple[Desk, dict[str, Any]]],
    ledger: Ledger,
    rng: random.Random,
    samples: int = 150,
) -> int:
    """Outsiders and refused addressees must get the answer a random id gets: 404, blank."""
    desks = [d.id for d in secure.cell.registry.desks]
    leaks = 0
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for message_id in rng.sample(sorted(items), samples):
            origin, item = items[message_id]
            addressees = {*item["action_to"], *item["info_to"]}
            refused = sorted(addressees - ledger.expected[message_id])
            outsiders = sorted(set(desks) - addressees - {origin.id})
            for desk in [*refused[:1], *outsiders[:1]]:
                for method, path, body in (
                    ("GET", f"/v1/messages/{message_id}", None),
                    ("POST", f"/v1/messages/{message_id}/read", {"mode": "MANUAL"}),
                    ("POST", f"/v1/messages/{message_id}/ack", {"response": "ACKNOWLEDGED"}),
                ):
                    async with http.request(
                        method, secure.url + path, json=body, headers=secure.cell.auth(desk)
                    ) as response:
                        text = await response.text()
                    if response.status != 404 or "canary" in text or item["subject"] in text:
                        leaks += 1
            # A permitted recipient sees the status, but only the records naming it.
            for desk in sorted(ledger.expected[message_id])[:1]:
                async with http.get(
                    secure.url + f"/v1/messages/{message_id}", headers=secure.cell.auth(desk)
                ) as response:
                    status = await response.json()
                others = addressees - {desk}
                named = {r.get("recipient") for r in status.get("records", ())} - {None}
                if response.status != 200 or named & others:
                    leaks += 1
    return leaks
