"""Messages to measure with: the golden v1 corpus of ``schemas/``, compacted as on the wire."""

from __future__ import annotations

from pathlib import Path

import msgspec

from schemas import codec
from schemas.envelope import Envelope

GOLDEN = Path(__file__).resolve().parent.parent / "schemas" / "golden" / "v1"

# Envelope fields a desk may not post: the cell sets them (originator, release time).
_SEALED_ONLY = ("originator", "released_at")


def golden() -> dict[str, bytes]:
    """Name -> compact JSON bytes of every golden envelope (each body kind, some variants)."""
    found: dict[str, bytes] = {}
    for path in sorted(GOLDEN.glob("*.json")):
        raw = msgspec.json.decode(path.read_bytes())
        data = msgspec.json.encode(raw)
        codec.decode(data)  # a golden file that no longer decodes is a schema change: fail loud
        found[path.stem] = data
    if not found:
        raise FileNotFoundError(f"no golden messages in {GOLDEN}")
    return found


def envelope(name: str) -> Envelope:
    return codec.decode(golden()[name])


def submission_json(name: str, *, precedence: str | None = None) -> bytes:
    """The golden envelope as a desk would post it (no originator, no release time).

    ``message_id`` is dropped so the gateway mints one per request (a repeated id is a retry).
    """
    raw = msgspec.json.decode(golden()[name])
    for key in (*_SEALED_ONLY, "message_id"):
        raw.pop(key, None)
    if precedence is not None:
        raw["primary_precedence"] = precedence
        raw["copy_precedence"] = precedence
    return msgspec.json.encode(raw)
