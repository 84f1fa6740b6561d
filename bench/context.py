"""What every scenario gets: the run's knobs, the broker, topic names and progress output."""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field

from msgspec import Struct


class Knobs(Struct, frozen=True, kw_only=True):
    """Durations and sizes; ``--quick`` shrinks them for a smoke run, not for figures."""

    quick: bool
    repeats: int
    warmup_s: float
    measure_s: float
    decode_slice_s: float  # per body kind, per arm, per repeat
    latency_samples: int  # per arm per repeat, open loop
    http_connections: int
    ws_connections: int

    @classmethod
    def full(cls) -> Knobs:
        return cls(
            quick=False,
            repeats=3,
            warmup_s=2.0,
            measure_s=5.0,
            decode_slice_s=0.04,
            latency_samples=2000,
            http_connections=32,
            ws_connections=1000,
        )

    @classmethod
    def small(cls) -> Knobs:
        return cls(
            quick=True,
            repeats=2,
            warmup_s=0.3,
            measure_s=1.0,
            decode_slice_s=0.005,
            latency_samples=60,
            http_connections=8,
            ws_connections=100,
        )


@dataclass
class Context:
    knobs: Knobs
    bootstrap: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started: float = field(default_factory=time.monotonic)

    def prefix(self, scenario: str) -> str:
        """A topic prefix no other run or scenario shares (``b<run>.<scenario>.``)."""
        return f"b{self.run_id}.{scenario.replace('_', '-')}."

    def say(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[bench {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)
