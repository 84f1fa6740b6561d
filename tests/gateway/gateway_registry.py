"""The gateway tests' desks and their clear tokens (imported by module name, never as conftest).

Only SHA-256 digests of the tokens go into the registry, as in production.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp.test_utils import TestClient

from schemas.desks import Desk, DeskRegistry
from services.gateway.settings import GatewaySettings

# desk id -> clear token; the registry stores only their SHA-256 digests.
DESK_TOKENS = {
    "usa.eucom": "tok-usa-eucom-7f3a",
    "ukr.gs": "tok-ukr-gs-91c2",
    "fra.cell": "tok-fra-cell-44de",
    "cell.watch": "tok-cell-watch-0b18",
    "nld.def": "tok-nld-def-5e60",
    "exr.training": "tok-exr-training-c7a9",
}

_DESKS: tuple[dict[str, Any], ...] = (
    {"id": "usa.eucom", "nation": "USA", "clearance": "TOP_SECRET", "roles": ["FLASH", "DONOR"]},
    {"id": "ukr.gs", "nation": "UKR", "clearance": "SECRET", "roles": ["REQUESTER", "FLASH"]},
    {"id": "fra.cell", "nation": "FRA", "clearance": "SECRET", "roles": ["DONOR", "MONITOR"]},
    {
        "id": "cell.watch",
        "nation": "FRA",
        "clearance": "SECRET",
        "roles": ["WATCH", "FLASH"],
        "exercise_enabled": True,
    },
    {"id": "nld.def", "nation": "NLD", "clearance": "CONFIDENTIAL", "roles": ["DONOR"]},
    {"id": "exr.training", "nation": "FRA", "clearance": "RESTRICTED", "exercise_only": True},
)


def _desk(fields: dict[str, Any]) -> Desk:
    digest = hashlib.sha256(DESK_TOKENS[fields["id"]].encode()).hexdigest()
    return msgspec.convert(fields | {"token_sha256": [digest]}, Desk)


GATEWAY_DESKS = DeskRegistry(
    desks=tuple(_desk(fields) for fields in _DESKS), description="gateway test desks"
)


def auth_header(desk_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {DESK_TOKENS[desk_id]}"}


MakeSettings = Callable[..., GatewaySettings]
MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
