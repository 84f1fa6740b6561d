"""The desks of the end-to-end tests, with their clear tokens (imported by module name)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from schemas.desks import Desk, DeskRegistry

TOKENS = {"usa.eucom": "e2e-usa", "ukr.gs": "e2e-ukr", "fra.cell": "e2e-fra", "cell.watch": "e2e-w"}
_ROWS: tuple[dict[str, Any], ...] = (
    {"id": "usa.eucom", "nation": "USA", "clearance": "SECRET", "roles": ["FLASH"]},
    {"id": "ukr.gs", "nation": "UKR", "clearance": "SECRET", "roles": ["REQUESTER"]},
    {"id": "fra.cell", "nation": "FRA", "clearance": "SECRET"},
    {"id": "cell.watch", "nation": "FRA", "clearance": "SECRET", "roles": ["WATCH", "FLASH"]},
)
REGISTRY = DeskRegistry(
    desks=tuple(
        msgspec.convert(
            row | {"token_sha256": [hashlib.sha256(TOKENS[row["id"]].encode()).hexdigest()]}, Desk
        )
        for row in _ROWS
    )
)


def auth(desk_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[desk_id]}"}
