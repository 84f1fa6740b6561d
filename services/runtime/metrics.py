"""Prometheus metrics of a consuming worker, in one registry per process.

The router and the domain services record the same families, labelled by ``service``:
handled messages by outcome, handling failures, dead letters, the handling latency, the
end-to-end latency by precedence (``released_at`` to handled), handling-target alarms and
breaches (DOMAIN §3: alarm at half the target), and consumer lag per partition. The gateway
keeps its own per-app registry (``services.gateway.metrics``). ``serve`` exposes this one on
``metrics_port`` when it is set.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from schemas.precedence import Precedence

REGISTRY = CollectorRegistry()
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_E2E_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600, 21600)
_LAG_INTERVAL_S = 1.0  # lag is a trend: refreshing it per batch would cost the hot path

HANDLED = Counter(
    "cell_messages_handled",
    "Consumed messages whose handling committed, by outcome",
    ["service", "outcome"],
    registry=REGISTRY,
)
FAILED = Counter(
    "cell_messages_failed",
    "Consumed messages whose handling or transaction failed (redelivered by a new session)",
    ["service"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "cell_messages_dead_lettered",
    "Consumed messages written to the dead-letter topic",
    ["service"],
    registry=REGISTRY,
)
HANDLING_SECONDS = Histogram(
    "cell_handling_seconds",
    "Time from decision to committed transaction, per message",
    ["service"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
END_TO_END_SECONDS = Histogram(
    "cell_end_to_end_seconds",
    "Time from the message's released_at to its handling here, by primary precedence",
    ["service", "precedence"],
    buckets=_E2E_BUCKETS,
    registry=REGISTRY,
)
TARGET_EXCEEDED = Counter(
    "cell_handling_target_exceeded",
    "Messages handled past half (alarm) or all (breach) of their precedence's handling target",
    ["service", "precedence", "level"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "cell_consumer_lag",
    "Records between the consumer's position and the partition's high watermark",
    ["service", "topic", "partition"],
    registry=REGISTRY,
)

_served: set[int] = set()


def serve(port: int) -> None:
    """Expose ``REGISTRY`` over HTTP on ``port`` (0: off); once per port per process."""
    if port and port not in _served:
        start_http_server(port, registry=REGISTRY)
        _served.add(port)


def target_level(precedence: Precedence, latency: timedelta) -> str | None:
    """``breach`` past the handling target, ``alarm`` past half of it, else None."""
    target = precedence.handling_target
    if latency >= target:
        return "breach"
    if latency >= target / 2:
        return "alarm"
    return None


def observe_handled(
    service: str,
    *,
    outcome: str,
    duration_s: float,
    precedence: str | None,
    end_to_end: timedelta | None,
) -> None:
    HANDLED.labels(service, outcome).inc()
    HANDLING_SECONDS.labels(service).observe(duration_s)
    if outcome == "dead_lettered":
        DEAD_LETTERED.labels(service).inc()
    if end_to_end is None or precedence is None or precedence not in Precedence.__members__:
        return
    level = Precedence(precedence)
    END_TO_END_SECONDS.labels(service, precedence).observe(max(end_to_end.total_seconds(), 0.0))
    exceeded = target_level(level, end_to_end)
    if exceeded is not None:
        TARGET_EXCEEDED.labels(service, precedence, exceeded).inc()


def observe_failed(service: str, count: int) -> None:
    if count:
        FAILED.labels(service).inc(count)


class LagTracker:
    """Consumer lag per assigned partition, refreshed at most once a second."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._next = 0.0

    async def update(self, consumer: Any, timeout_s: float) -> None:  # noqa: ANN401 - aiokafka
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + _LAG_INTERVAL_S
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue  # no fetch answered for it yet
            position = await asyncio.wait_for(consumer.position(tp), timeout_s)
            lag = max(highwater - position, 0)
            CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(lag)
