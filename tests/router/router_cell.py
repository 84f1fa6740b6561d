"""The isolated cell the router tests run in (not a test module; imported by name)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from router_helpers import REGISTRY

from schemas import topics
from schemas.precedence import Precedence
from services.router.route import Plan
from services.router.settings import RouterSettings
from services.router.worker import run


class Cell:
    """One isolated cell on the shared broker: its own topic prefix, group and router."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = f"t{uuid.uuid4().hex[:8]}."
        self.routed: list[tuple[Any, Plan]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20
        )

    def settings(self, **overrides: Any) -> RouterSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap": self.bootstrap,
            "topic_prefix": self.prefix,
            "ack_check_interval_s": 0.2,
        }
        return RouterSettings(**(values | overrides))

    def start_router(self, **overrides: Any) -> None:
        settings = self.settings(**overrides)
        self._task = asyncio.create_task(
            run(settings, self._stop, registry=REGISTRY, observer=self._observe)
        )

    def _observe(self, record: Any, plan: Plan) -> None:
        self.routed.append((record, plan))

    async def stop_router(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 60)

    def inbox(self, desk_id: str, lane: str) -> str:
        desk = REGISTRY.get(desk_id)
        assert desk is not None
        return topics.inbox_topic(desk, Precedence.from_lane(lane), prefix=self.prefix)

    def inboxes(self, desk_id: str) -> list[str]:
        return [self.inbox(desk_id, lane) for lane in ("flash", "immediate", "priority", "routine")]
