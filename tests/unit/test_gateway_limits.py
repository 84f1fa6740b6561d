"""Per-desk token buckets (pure logic, fake clock)."""

from __future__ import annotations

import pytest

from services.gateway.limits import DeskLimiter
from services.gateway.settings import GatewaySettings
from services.runtime.errors import ConfigurationError
from services.runtime.settings import load


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_buckets_refill_at_their_rate_per_desk():
    settings = GatewaySettings(
        rate_messages_per_s=2.0, rate_messages_burst=100, max_batch=100, rate_bytes_burst=10**7
    )
    clock = Clock()
    limiter = DeskLimiter(settings, clock)
    assert limiter.acquire("a", messages=100, nbytes=10) == 0
    assert limiter.acquire("a", messages=1, nbytes=10) == pytest.approx(0.5)
    assert limiter.acquire("b", messages=1, nbytes=10) == 0  # another desk's bucket
    clock.now = 0.5
    assert limiter.acquire("a", messages=1, nbytes=10) == 0


def test_bytes_bucket_limits_independently():
    settings = GatewaySettings(
        rate_bytes_per_s=1000.0, rate_bytes_burst=600_000, max_body_bytes=500_000
    )
    limiter = DeskLimiter(settings, Clock())
    assert limiter.acquire("a", messages=1, nbytes=500_000) == 0
    assert limiter.acquire("a", messages=1, nbytes=200_000) == pytest.approx(100.0)


def test_settings_refuse_a_batch_larger_than_the_burst():
    with pytest.raises(ConfigurationError, match="rate_messages_burst"):
        load(GatewaySettings, {"CELL_MAX_BATCH": "500", "CELL_RATE_MESSAGES_BURST": "10"})
