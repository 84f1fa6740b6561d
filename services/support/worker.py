"""The support worker: support traffic from the domain topic in; request state and notices out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from schemas.desks import DeskRegistry
from schemas.topics import domain_topic, state_topic
from services.runtime.servicedesk import service_desk
from services.runtime.txloop import run_loop
from services.support.service import SupportService
from services.support.settings import SupportSettings


async def run(
    settings: SupportSettings, stop: asyncio.Event, *, registry: DeskRegistry | None = None
) -> None:
    """Run until ``stop`` is set; a bad desk registry or service desk fails at once."""
    desk, desks = service_desk(
        settings.service_desk,
        desks_file=settings.desks_file,
        prefix=settings.topic_prefix,
        registry=registry,
    )
    wait = timedelta(seconds=settings.alert_wait_s)
    await run_loop(
        settings,
        stop,
        name="support",
        input_topic=domain_topic("support", prefix=settings.topic_prefix),
        state_topic=state_topic("requests", prefix=settings.topic_prefix),
        make_handler=lambda: SupportService(desk, desks, alert_wait=wait),
    )
