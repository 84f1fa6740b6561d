"""The security tests' cell: eleven desks (nine nations, every clearance, exercise and FLASH
desks) with a real gateway and router as subprocesses (not a test module).

The helpers (``FaultCell``, the checker, the figures writer) live in ``tests/faults``; that
directory is put on ``sys.path`` here so both suites use one implementation.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))

from fault_cell import FaultCell, Proc, token_of
from reliability_report import render as render_reliability

from schemas.desks import Desk, DeskRegistry

__all__ = ["SecureCell", "render_reliability", "security_registry", "start_cell"]

# id, nation, clearance, roles, extra
_DESKS: tuple[tuple[str, str, str, list[str], dict[str, Any]], ...] = (
    ("usa.eucom", "USA", "TOP_SECRET", ["FLASH", "DONOR"], {"categories": ["ATOMAL"]}),
    ("ukr.gs", "UKR", "SECRET", ["REQUESTER", "FLASH"], {}),
    ("gbr.pjhq", "GBR", "SECRET", ["MONITOR"], {"categories": ["ATOMAL"]}),
    ("fra.cell", "FRA", "SECRET", ["DONOR", "MONITOR"], {}),
    ("deu.bmvg", "DEU", "CONFIDENTIAL", ["DONOR"], {}),
    ("pol.mon", "POL", "RESTRICTED", ["MONITOR"], {}),
    ("ita.coi", "ITA", "CONFIDENTIAL", [], {}),
    ("can.cjoc", "CAN", "SECRET", ["COMMISSION"], {}),
    ("nld.def", "NLD", "UNCLASSIFIED", ["DONOR"], {}),
    ("cell.watch", "FRA", "TOP_SECRET", ["WATCH", "FLASH"], {"exercise_enabled": True}),
    ("exr.train", "POL", "SECRET", [], {"exercise_only": True}),
)


def security_registry() -> DeskRegistry:
    desks = []
    for desk_id, nation, clearance, roles, extra in _DESKS:
        fields = {
            "id": desk_id,
            "nation": nation,
            "clearance": clearance,
            "roles": roles,
            "token_sha256": [hashlib.sha256(token_of(desk_id).encode()).hexdigest()],
        }
        desks.append(msgspec.convert(fields | extra, Desk))
    return DeskRegistry(desks=tuple(desks), description="security-test desks")


class SecureCell:
    """A provisioned prefix with one gateway and one router running for the module."""

    def __init__(self, cell: FaultCell, gateway: Proc, router: Proc) -> None:
        self.cell, self.gateway, self.router = cell, gateway, router

    @property
    def url(self) -> str:
        return self.gateway.url


def start_cell(
    bootstrap: str,
    directory: Path,
    *,
    registry: DeskRegistry | None = None,
    wait: bool = True,
    **gateway_env: str,
) -> SecureCell:
    cell = FaultCell(bootstrap, directory, registry=registry or security_registry(), replication=1)
    asyncio.run(cell.provision())
    gateway = cell.gateway(CELL_LOG_LEVEL="INFO", **gateway_env)
    router = cell.router()
    try:
        if wait:
            asyncio.run(cell.wait_http(gateway, "/readyz"))
            asyncio.run(_views_ready(gateway.url))
    except BaseException:
        asyncio.run(cell.stop_all())
        raise
    return SecureCell(cell, gateway, router)


async def _views_ready(url: str, timeout_s: float = 120.0) -> None:
    """Until the query views caught up, query routes answer 503 (a fuzzer counts it)."""
    async with (
        asyncio.timeout(timeout_s),
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
    ):
        while True:
            async with http.get(url + "/readyz") as response:
                views = (await response.json()).get("views") or {}
            if views.get("state") == "ready":
                return
            await asyncio.sleep(0.3)
