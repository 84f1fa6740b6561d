"""The commission worker: case actions from the domain topic in, case state and refusals out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemas.desks import DeskRegistry, RegistryError, load_registry
from schemas.topics import domain_topic, state_topic
from services.commission.service import CommissionService
from services.commission.settings import CommissionSettings
from services.runtime.errors import ConfigurationError
from services.runtime.outbox import ServiceDesk
from services.runtime.txloop import run_loop


async def run(
    settings: CommissionSettings, stop: asyncio.Event, *, registry: DeskRegistry | None = None
) -> None:
    """Run until ``stop`` is set; an unreadable desk registry fails at once."""
    try:
        desks = registry if registry is not None else load_registry(Path(settings.desks_file))
    except RegistryError as exc:
        raise ConfigurationError(str(exc)) from exc
    desk = ServiceDesk(desk_id=settings.service_desk, prefix=settings.topic_prefix)
    await run_loop(
        settings,
        stop,
        name="commission",
        input_topic=domain_topic("commission", prefix=settings.topic_prefix),
        state_topic=state_topic("cases", prefix=settings.topic_prefix),
        make_handler=lambda: CommissionService(desk, desks),
    )
