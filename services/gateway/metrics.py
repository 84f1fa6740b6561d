"""Prometheus metrics of one gateway app, in a registry of its own.

One registry per app (not the process-global default) so that tests can build many apps in
one process and each ``/metrics`` shows only its own app. The receive half updates
``connected_desks`` and the ``queue_depth`` of its send queues; the submit half the rest.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "GatewayMetrics"]

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "cell_gateway_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "cell_gateway_request_seconds",
            "HTTP request duration by route template.",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "cell_gateway_publish_seconds",
            "Time from send to broker acknowledgement, by precedence.",
            ("precedence",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.published = Counter(
            "cell_gateway_published",
            "Submissions acknowledged by Kafka, by precedence.",
            ("precedence",),
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "cell_gateway_publish_failures",
            "Submissions Kafka did not take within the deadline, by precedence.",
            ("precedence",),
            registry=self.registry,
        )
        self.producer_rebuilds = Counter(
            "cell_gateway_producer_rebuilds",
            "Producers discarded after a dead sender or an ambiguous timeout, by lane group.",
            ("producer",),
            registry=self.registry,
        )
        self.connected_desks = Gauge(
            "cell_gateway_connected_desks",
            "Desks with at least one open WebSocket stream.",
            registry=self.registry,
        )
        self.shed = Counter(
            "cell_gateway_shed",
            "Submissions refused at once (503 overloaded) because the gateway had its limit "
            "of publishes in flight for their precedence, by precedence.",
            ("precedence",),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "cell_gateway_in_flight",
            "Submissions admitted and not yet answered (the admission control's count).",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "cell_gateway_queue_depth",
            "Items waiting, by queue (publish.<producer> in flight, ws send queues).",
            ("queue",),
            registry=self.registry,
        )

        # ``.labels()`` hashes and validates its values on every call: the per-request
        # children are looked up once per (route, method, status) and kept.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and observe its duration."""
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.request_seconds.labels(route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
