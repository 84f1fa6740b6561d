"""The receive half's per-app state: readers, cursor codec, sessions and their metrics."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter as Tally
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from prometheus_client import Counter, Gauge

from schemas.desks import DeskRegistry
from services.gateway.inbox.audit import AuditView
from services.gateway.inbox.cursor import CursorCodec
from services.gateway.inbox.fetch import CatchUpPool
from services.gateway.inbox.reader import InboxReader
from services.gateway.inbox.sendqueue import SendQueue
from services.gateway.inbox.store import InboxStore
from services.gateway.metrics import GatewayMetrics
from services.gateway.problems import Problem
from services.gateway.settings import GatewaySettings
from services.runtime.errors import ConfigurationError

# Memory bounds (see the package docstring). Per inbox lane in memory:
WINDOW_RECORDS = 256
WINDOW_BYTES = 1024 * 1024
CATCHUP_CONSUMERS = 2  # Kafka clients shared by every read older than the windows
AUDIT_MAX_MESSAGES = 50_000
AUDIT_MAX_RECORDS_PER_MESSAGE = 1_000
AUDIT_MAX_AGE = timedelta(days=7)
# WebSocket sessions. One desk rarely needs more than a primary and a standby client.
STREAMS_PER_DESK = 4
INBOX_MAX_LIMIT = 500
INBOX_DEFAULT_LIMIT = 100


class StreamSessions:
    """Who is streaming: admission against the limits, and the metrics of live sessions."""

    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
        self._retry_after_s = settings.retry_after_s
        self._by_desk: Tally[str] = Tally()
        self.queues: dict[int, SendQueue[Any]] = {}
        self.sessions = Gauge(
            "cell_gateway_ws_sessions",
            "Open WebSocket streams.",
            registry=metrics.registry,
        )
        self.sessions.set_function(lambda: sum(self._by_desk.values()))
        metrics.connected_desks.set_function(lambda: len(self._by_desk))
        metrics.queue_depth.labels("ws").set_function(
            lambda: sum(q.depth for q in self.queues.values())
        )
        self.slow_disconnects = Counter(
            "cell_gateway_ws_slow_disconnects",
            "WebSocket streams closed because the client let its send queue fill.",
            registry=metrics.registry,
        )
        self.queue_high_water = 0  # deepest any send queue got: the bound, observable
        # id(session) -> its close coroutine (closing frame + 1001) for shutdown.
        self.closers: dict[int, Callable[[], Awaitable[None]]] = {}

    def admit(self, desk_id: str) -> None:
        """Count a new stream of ``desk_id``, or refuse it with 429.

        The total is capped by the access middleware (``max_connections``, 503): a stream
        holds its request open for its whole life, so it counts there like a long-poll.
        """
        if self._by_desk[desk_id] >= STREAMS_PER_DESK:
            raise Problem(
                429,
                "too_many_streams",
                f"this desk already has {STREAMS_PER_DESK} open streams",
                retry_after_s=self._retry_after_s,
            )
        self._by_desk[desk_id] += 1

    def release(self, desk_id: str) -> None:
        self._by_desk[desk_id] -= 1
        if self._by_desk[desk_id] <= 0:
            del self._by_desk[desk_id]

    def count(self, desk_id: str) -> int:
        return self._by_desk[desk_id]


class InboxState:
    def __init__(
        self, settings: GatewaySettings, registry: DeskRegistry, metrics: GatewayMetrics
    ) -> None:
        self.settings = settings
        secret = settings.cursor_secret.encode() or secrets.token_bytes(32)
        try:
            self.cursors = CursorCodec(secret)
        except ValueError as exc:
            raise ConfigurationError(f"CELL_CURSOR_SECRET: {exc}") from exc
        self.store = InboxStore(
            registry,
            prefix=settings.topic_prefix,
            max_records=WINDOW_RECORDS,
            max_bytes=WINDOW_BYTES,
        )
        self.pool = CatchUpPool(settings, size=CATCHUP_CONSUMERS)
        self.reader = InboxReader(self.store, self.pool)
        self.audit = AuditView(
            max_messages=AUDIT_MAX_MESSAGES,
            max_records_per_message=AUDIT_MAX_RECORDS_PER_MESSAGE,
            max_age=AUDIT_MAX_AGE,
        )
        self.streams = StreamSessions(settings, metrics)
        self.tail_ready = asyncio.Event()  # set once the tail has caught up with every lane


STATE: web.AppKey[InboxState] = web.AppKey("inbox_state", InboxState)
