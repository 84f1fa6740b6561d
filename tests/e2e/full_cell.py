"""The whole cell in one test process: router, the four domain services and the gateway.

Desks are the demo registry (`deploy/desks/demo.json`) with its published demo tokens, so the
scenarios read like the cell `make run` starts. Every service runs its real worker on a fresh
topic prefix of the real broker; each can be stopped and started again mid-scenario (the
"restart changes no outcome" acceptance). Imported by module name (``from full_cell import``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from schemas import topics
from schemas.desks import DeskRegistry, load_registry
from services.commission.settings import CommissionSettings
from services.commission.worker import run as run_commission
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.monitoring.settings import MonitoringSettings
from services.monitoring.worker import run as run_monitoring
from services.router.settings import RouterSettings
from services.router.worker import run as run_router
from services.runtime.provision import provision
from services.support.settings import SupportSettings
from services.support.worker import run as run_support
from services.tasking.settings import TaskingSettings
from services.tasking.worker import run as run_tasking

ROOT = Path(__file__).resolve().parents[2]
DESKS = ROOT / "deploy" / "desks"
REGISTRY: DeskRegistry = load_registry(DESKS / "demo.json")
TOKENS: dict[str, str] = json.loads((DESKS / "demo-tokens.json").read_text())["tokens"]
DEADLINE_S = 90.0  # what one wait for a message may take on a loaded 2-core machine
STOP_S = 60.0

Runner = Callable[[Any, asyncio.Event], Coroutine[Any, Any, None]]


def auth(desk_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[desk_id]}"}


def label(classification: str = "NATO RESTRICTED", *rel_to: str) -> dict[str, Any]:
    return {
        "policy": "NATO",
        "classification": classification,
        "releasable_to": list(rel_to) or ["USA", "UKR", "FRA", "GBR", "DEU", "POL"],
        "created_at": datetime.now(UTC).isoformat(),
    }


def envelope(
    body: dict[str, Any],
    *,
    to: list[str],
    precedence: str = "PRIORITY",
    subject: str = "",
    message_id: str | None = None,
    rel_to: tuple[str, ...] = (),
    classification: str = "NATO RESTRICTED",
    info: list[str] | None = None,
    traffic_type: str = "OPERATION",
) -> dict[str, Any]:
    """A submission as a desk posts it (the originator comes from the token, never the body)."""
    submission: dict[str, Any] = {
        "message_id": message_id or str(uuid.uuid4()),
        "traffic_type": traffic_type,
        "action_to": to,
        "primary_precedence": precedence,
        "label": label(classification, *rel_to),
        "subject": subject or body["kind"],
        "body": body,
    }
    if info:
        submission["info_to"] = info
    return submission


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ago(**delta: float) -> str:
    return iso(datetime.now(UTC) - timedelta(**delta))


def ahead(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


class Desk:
    """One desk's view of the cell: submit, and read its inbox in order with a cursor."""

    def __init__(self, cell: FullCell, desk_id: str) -> None:
        self.cell, self.id = cell, desk_id
        self.cursor: str | None = None
        self.received: list[dict[str, Any]] = []  # inbox items, in arrival order

    async def send(self, submission: dict[str, Any], *, expect: int = 202) -> dict[str, Any]:
        response = await self.cell.client.post(
            "/v1/messages", json=submission, headers=auth(self.id)
        )
        answer: dict[str, Any] = await response.json()
        assert response.status == expect, (self.id, response.status, answer)
        return answer

    async def get(self, path: str, *, expect: int = 200, **params: str) -> Any:
        response = await self.cell.client.get(path, params=params, headers=auth(self.id))
        assert response.status == expect, (self.id, path, response.status, await response.text())
        return await response.json()

    async def poll(self, wait_s: int = 2) -> list[dict[str, Any]]:
        params = {"wait": str(wait_s), "limit": "100"}
        if self.cursor:
            params["cursor"] = self.cursor
        response = await self.cell.client.get("/v1/inbox", params=params, headers=auth(self.id))
        assert response.status == 200, (self.id, response.status, await response.text())
        page = await response.json()
        self.cursor = page["cursor"]
        self.received += page["messages"]
        return list(page["messages"])

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], *, what: str, timeout_s: float = DEADLINE_S
    ) -> dict[str, Any]:
        """The first message (envelope) received so far or later that ``match`` accepts."""
        seen = 0
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    for item in self.received[seen:]:
                        if match(item["message"]):
                            return dict(item["message"])
                    seen = len(self.received)
                    await self.poll()
        except TimeoutError:
            kinds = [item["message"]["body"]["kind"] for item in self.received]
            msg = f"{self.id}: no {what} within {timeout_s:.0f}s (received kinds: {kinds})"
            raise AssertionError(msg) from None

    def bodies(self, kind: str) -> list[dict[str, Any]]:
        return [i["message"]["body"] for i in self.received if i["message"]["body"]["kind"] == kind]


class FullCell:
    """Owns the service tasks; ``restart(name)`` stops one service and starts it again."""

    def __init__(self, bootstrap: str, prefix: str, overrides: dict[str, dict[str, Any]]) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        common = {"kafka_bootstrap": bootstrap, "topic_prefix": prefix, "log_format": "json"}
        tick = {"tick_interval_s": 1.0}
        self.settings: dict[str, Any] = {
            "router": RouterSettings(**common | overrides.get("router", {})),
            "monitoring": MonitoringSettings(**common | tick | overrides.get("monitoring", {})),
            "commission": CommissionSettings(**common | tick | overrides.get("commission", {})),
            "support": SupportSettings(**common | tick | overrides.get("support", {})),
            "tasking": TaskingSettings(**common | tick | overrides.get("tasking", {})),
        }
        self._runners: dict[str, Runner] = {
            "router": lambda s, stop: run_router(s, stop, registry=REGISTRY),
            "monitoring": run_monitoring,
            "commission": lambda s, stop: run_commission(s, stop, registry=REGISTRY),
            "support": lambda s, stop: run_support(s, stop, registry=REGISTRY),
            "tasking": lambda s, stop: run_tasking(s, stop, registry=REGISTRY),
        }
        self._running: dict[str, tuple[asyncio.Event, asyncio.Task[None]]] = {}
        gateway = GatewaySettings(
            **common | {"cursor_secret": f"cursor-{prefix}"} | overrides.get("gateway", {})
        )
        self.client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(gateway, registry=REGISTRY))
        )
        self._desks: dict[str, Desk] = {}

    def desk(self, desk_id: str) -> Desk:
        if desk_id not in self._desks:
            self._desks[desk_id] = Desk(self, desk_id)
        return self._desks[desk_id]

    def start(self, name: str) -> None:
        assert name not in self._running, f"{name} already runs"
        stop = asyncio.Event()
        task = asyncio.create_task(self._runners[name](self.settings[name], stop), name=name)
        self._running[name] = (stop, task)

    async def stop(self, name: str) -> None:
        stop, task = self._running.pop(name)
        stop.set()
        try:
            await asyncio.wait_for(task, STOP_S)
        except TimeoutError:
            raise AssertionError(f"{name} did not stop within {STOP_S:.0f}s") from None

    async def kill(self, name: str) -> None:
        """Cancel the service's task: no clean stop, no final commit (the crash case)."""
        _, task = self._running.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, STOP_S)

    async def restart(self, name: str) -> None:
        await self.stop(name)
        self.start(name)

    def check_alive(self) -> None:
        """A service that died on its own fails the test with its error, not a timeout."""
        for name, (_, task) in self._running.items():
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError(f"{name} died") from task.exception()


@contextlib.asynccontextmanager
async def full_cell(
    bootstrap: str, overrides: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[FullCell]:
    """Provision a fresh prefix, start every service and the gateway; stop them all after."""
    prefix = f"f{uuid.uuid4().hex[:8]}."
    report = await provision(bootstrap, topics.registry(REGISTRY, prefix=prefix), timeout_s=120)
    assert report.ok, report.drift
    cell = FullCell(bootstrap, prefix, overrides or {})
    for name in ("router", "monitoring", "commission", "support", "tasking"):
        cell.start(name)
    await cell.client.start_server()
    try:
        yield cell
        cell.check_alive()
    finally:
        await cell.client.close()
        for name in list(cell._running):
            await cell.stop(name)
