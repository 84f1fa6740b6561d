"""Per-desk token buckets on submissions and body bytes (429 with Retry-After).

A bucket refills continuously at ``rate`` up to ``burst``. A request takes what it needs
from both buckets of its desk or nothing at all, and learns how long until it would fit.
In-process state: each gateway instance limits on its own, so N instances behind a load
balancer allow up to N times the rate; the buckets bound a desk's pressure on one
process and on Kafka, not a contractual quota.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.gateway.settings import GatewaySettings


class TokenBucket:
    __slots__ = ("_burst", "_clock", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` tokens are available (0 when they are now)."""
        self._refill()
        if amount <= self._tokens:
            return 0.0
        # Settings keep every request within the burst (see GatewaySettings), so it fits
        # once the bucket has refilled by the missing amount.
        return (min(amount, self._burst) - self._tokens) / self._rate

    def take(self, amount: float) -> None:
        self._tokens -= amount


class DeskLimiter:
    """Messages-per-second and bytes-per-second buckets for each desk."""

    def __init__(
        self, settings: GatewaySettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}

    def _for(self, desk_id: str) -> tuple[TokenBucket, TokenBucket]:
        buckets = self._buckets.get(desk_id)
        if buckets is None:
            s = self._settings
            buckets = (
                TokenBucket(s.rate_messages_per_s, s.rate_messages_burst, self._clock),
                TokenBucket(s.rate_bytes_per_s, s.rate_bytes_burst, self._clock),
            )
            self._buckets[desk_id] = buckets
        return buckets

    def acquire(self, desk_id: str, *, messages: int, nbytes: int) -> float:
        """Take the tokens and return 0, or take nothing and return seconds to wait."""
        by_messages, by_bytes = self._for(desk_id)
        wait = max(by_messages.wait_for(messages), by_bytes.wait_for(nbytes))
        if wait > 0:
            return wait
        by_messages.take(messages)
        by_bytes.take(nbytes)
        return 0.0
