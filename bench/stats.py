"""Percentiles over every sample, repeat summaries and paired ratios.

Percentiles are exact (nearest rank over all recorded samples), so no histogram library is
needed; latency samples are a few hundred thousand floats at most.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from msgspec import Struct


class Spread(Struct, frozen=True, kw_only=True):
    """The median of the repeats and their range."""

    median: float
    low: float
    high: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no values")
        return cls(
            median=statistics.median(values),
            low=min(values),
            high=max(values),
            values=tuple(round(v, 4) for v in values),
        )

    @property
    def relative_range(self) -> float:
        """(high - low) / median: how much the repeats disagree."""
        return (self.high - self.low) / self.median if self.median else math.inf


class Latency(Struct, frozen=True, kw_only=True):
    """Latency percentiles in milliseconds over all samples of a run."""

    count: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples_s: Sequence[float]) -> Latency:
        if not samples_s:
            raise ValueError("no latency samples")
        ordered = sorted(samples_s)

        def rank(q: float) -> float:
            # Nearest-rank percentile: the smallest sample with at least q of all at or below.
            index = max(0, math.ceil(q * len(ordered)) - 1)
            return round(ordered[index] * 1000.0, 3)

        return cls(
            count=len(ordered),
            p50_ms=rank(0.50),
            p99_ms=rank(0.99),
            p999_ms=rank(0.999),
            max_ms=round(ordered[-1] * 1000.0, 3),
        )


def ratios(ours: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Paired per-repeat ratios (both arms of repeat i ran back to back)."""
    if len(ours) != len(baseline):
        raise ValueError("arms have different repeat counts")
    return [o / b if b else math.inf for o, b in zip(ours, baseline, strict=True)]
