"""The tasking worker: tasking traffic in; order state, refusals and overdue alerts out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from schemas.desks import DeskRegistry
from schemas.topics import domain_topic, state_topic
from services.runtime.servicedesk import service_desk
from services.runtime.txloop import run_loop
from services.tasking.service import TaskingService
from services.tasking.settings import TaskingSettings


async def run(
    settings: TaskingSettings, stop: asyncio.Event, *, registry: DeskRegistry | None = None
) -> None:
    """Run until ``stop`` is set; a bad desk registry or service desk fails at once."""
    desk, desks = service_desk(
        settings.service_desk,
        desks_file=settings.desks_file,
        prefix=settings.topic_prefix,
        registry=registry,
    )
    window = timedelta(seconds=settings.ack_window_s)
    await run_loop(
        settings,
        stop,
        name="tasking",
        input_topic=domain_topic("tasking", prefix=settings.topic_prefix),
        state_topic=state_topic("orders", prefix=settings.topic_prefix),
        make_handler=lambda: TaskingService(desk, desks, ack_window=window),
    )
