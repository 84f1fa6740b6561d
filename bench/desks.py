"""A bench desk registry: the demo desks plus ``count`` extra UKR desks with known tokens.

The gateway admits at most four streams per desk, so 1,000 WebSocket sessions need 250 desks.
The file is written under ``.state`` and passed to the gateway as ``CELL_DESKS_FILE``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from bench.procs import ROOT
from schemas.desks import Desk, load_registry

DEMO = ROOT / "deploy" / "desks" / "demo.json"


def desk_id(n: int) -> str:
    return f"bench.d{n:04d}"


def token(n: int) -> str:
    return f"bench-desk-token-{n:04d}-not-a-secret"


def write(path: Path, count: int) -> dict[str, str]:
    """Write the registry; returns desk id -> bearer token of the extra desks."""
    data = msgspec.json.decode(DEMO.read_bytes())
    tokens = {desk_id(n): token(n) for n in range(count)}
    data["desks"] += [
        {
            "id": desk,
            "nation": "UKR",
            "clearance": "SECRET",
            "roles": [],
            "name": f"bench desk {desk}",
            "token_sha256": [hashlib.sha256(secret.encode()).hexdigest()],
        }
        for desk, secret in tokens.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.encode(data))
    return tokens


def load(path: Path) -> dict[str, Desk]:
    registry = load_registry(path)
    return {desk.id: desk for desk in registry.desks}
