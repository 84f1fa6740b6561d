"""Handling-target alarms (half the target) and breaches, and the end-to-end observation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.precedence import Precedence
from services.runtime import metrics
from services.runtime.canonical import released_at


@pytest.mark.parametrize(
    ("precedence", "latency", "level"),
    [
        (Precedence.FLASH, timedelta(minutes=4, seconds=59), None),
        (Precedence.FLASH, timedelta(minutes=5), "alarm"),
        (Precedence.FLASH, timedelta(minutes=10), "breach"),
        (Precedence.ROUTINE, timedelta(hours=2, minutes=59), None),
        (Precedence.ROUTINE, timedelta(hours=3), "alarm"),
        (Precedence.ROUTINE, timedelta(hours=7), "breach"),
    ],
)
def test_target_level(precedence: Precedence, latency: timedelta, level: str | None) -> None:
    assert metrics.target_level(precedence, latency) == level


def test_observe_handled_counts_breaches_and_dead_letters() -> None:
    service = "unit-test-metrics"

    def sample(name: str, **labels: str) -> float:
        value = metrics.REGISTRY.get_sample_value(name, {"service": service, **labels})
        return value or 0.0

    metrics.observe_handled(
        service,
        outcome="dead_lettered",
        duration_s=0.01,
        precedence=None,
        end_to_end=None,
    )
    metrics.observe_handled(
        service,
        outcome="handled",
        duration_s=0.02,
        precedence="FLASH",
        end_to_end=timedelta(minutes=11),
    )
    assert sample("cell_messages_dead_lettered_total") == 1
    assert sample("cell_messages_handled_total", outcome="handled") == 1
    assert sample("cell_handling_seconds_count") == 2
    assert sample("cell_end_to_end_seconds_count", precedence="FLASH") == 1
    exceeded = sample("cell_handling_target_exceeded_total", precedence="FLASH", level="breach")
    assert exceeded == 1


def test_released_at_reads_one_field_and_tolerates_garbage() -> None:
    stamp = released_at(b'{"body": {"x": 1}, "released_at": "2026-03-14T13:12:00Z"}')
    assert stamp is not None
    assert stamp.isoformat() == "2026-03-14T13:12:00+00:00"
    assert released_at(b"\x00poison") is None
    assert released_at(b'{"released_at": "2026-03-14T13:12:00"}') is None  # no zone
    assert released_at(None) is None


def test_observe_failed_counts_the_redelivered_batch() -> None:
    labels = {"service": "unit-test-failed"}
    metrics.observe_failed("unit-test-failed", 0)
    assert metrics.REGISTRY.get_sample_value("cell_messages_failed_total", labels) is None
    metrics.observe_failed("unit-test-failed", 7)
    assert metrics.REGISTRY.get_sample_value("cell_messages_failed_total", labels) == 7
