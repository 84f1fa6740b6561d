"""A closed-loop client load through the gateway's batch endpoint, retrying like a real client.

Every message is built (with its ``message_id``) before it is first sent, so a retry after a
503, a timeout or a dropped connection repeats the same ids, as the gateway asks. Each
request has a client timeout and must complete; any 5xx other than 503 is recorded. The
gateway URL is read on every attempt, so a test can move the load to a new gateway.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from fault_cell import NATIONS, FaultCell
from fault_checker import Ledger

LANES = ("ROUTINE", "ROUTINE", "PRIORITY", "IMMEDIATE")
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=20)


def liaison(recipient: str, *, precedence: str = "ROUTINE", text: str = "ok") -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()),
        "traffic_type": "OPERATION",
        "action_to": [recipient],
        "primary_precedence": precedence,
        "label": {
            "policy": "NATO",
            "classification": "NATO RESTRICTED",
            "releasable_to": list(NATIONS),
            "created_at": datetime.now(UTC).isoformat(),
        },
        "subject": "Fault run",
        "body": {"kind": "liaison.message.v1", "topic": "COORDINATION", "text": text},
    }


@dataclass
class BatchLoad:
    cell: FaultCell
    url: Callable[[], str]
    total: int
    batch: int = 100
    concurrency: int = 4
    pace_s: float = 0.0  # pause between a worker's batches (spreads the load over the faults)
    ledger: Ledger = field(default_factory=Ledger)
    sent: int = 0  # messages handed to the first attempt so far
    rng: random.Random = field(default_factory=lambda: random.Random(9))
    # A hold stops new batches once ``sent`` reaches ``held_at`` until release(): a test can
    # then be sure a fault lands mid-stream however fast the machine runs the load.
    held_at: int | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def hold(self, at: int) -> None:
        """Start no batch beyond ``at`` sent messages until :meth:`release`."""
        self.held_at = at
        self._released.clear()

    def release(self) -> bool:
        """Let the load go on; True when messages remain to be sent (the load is mid-stream)."""
        self.held_at = None
        self._released.set()
        return self.sent < self.total

    def _next_batch(self) -> tuple[str, list[dict[str, Any]]] | None:
        if self.sent >= self.total:
            return None
        desks = [d.id for d in self.cell.registry.desks]
        originator = self.rng.choice(desks)
        items = []
        for _ in range(min(self.batch, self.total - self.sent)):
            recipient = self.rng.choice([d for d in desks if d != originator])
            item = liaison(recipient, precedence=self.rng.choice(LANES))
            self.ledger.attempt(item["message_id"], [recipient])
            items.append(item)
        self.sent += len(items)
        return originator, items

    async def _post(self, http: aiohttp.ClientSession, desk: str, items: list[Any]) -> list[Any]:
        """Post once; return the items still to retry (empty when all were acknowledged)."""
        headers = self.cell.auth(desk)
        try:
            async with http.post(
                self.url() + "/v1/messages:batch", json={"submissions": items}, headers=headers
            ) as response:
                self.ledger.statuses[response.status] += 1
                if response.status in {202, 207}:
                    result = await response.json()
                    retry = []
                    for entry in result["results"]:
                        if entry["status"] == 202:
                            self.ledger.ack(entry["accepted"]["message_id"])
                        else:
                            self.ledger.statuses[entry["status"]] += 1
                            assert entry["status"] in {429, 503}, entry
                            retry.append(items[entry["index"]])
                    return retry
                await response.read()
                if response.status in {429, 503}:
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    return items
                raise AssertionError(f"unexpected status {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.ledger.client_errors[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
            return items

    async def _worker(self, http: aiohttp.ClientSession) -> None:
        while True:
            while self.held_at is not None and self.sent >= self.held_at:
                await self._released.wait()
            if (job := self._next_batch()) is None:
                return
            desk, items = job
            pending = items
            while pending:
                pending = await self._post(http, desk, pending)
            if self.pace_s:
                await asyncio.sleep(self.pace_s)

    async def run(self) -> Ledger:
        async with (
            aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as http,
            asyncio.TaskGroup() as group,
        ):
            for _ in range(self.concurrency):
                group.create_task(self._worker(http))
        return self.ledger

    async def reached(self, acked: int, timeout_s: float = 300) -> None:
        """Wait until at least ``acked`` messages were acknowledged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.ledger.acked) < acked:
            assert loop.time() < deadline, f"only {len(self.ledger.acked)} acknowledged"
            await asyncio.sleep(0.1)
