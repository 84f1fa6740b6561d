"""Prometheus counters of routing outcomes (served only when ``metrics_port`` is set)."""

from __future__ import annotations

from prometheus_client import Counter, start_http_server

_OUTCOMES = Counter(
    "cell_router_messages_total", "Submissions handled by the router, by outcome", ["outcome"]
)


def count(outcome: str) -> None:
    _OUTCOMES.labels(outcome=outcome).inc()


def start_metrics(port: int) -> None:
    start_http_server(port)
