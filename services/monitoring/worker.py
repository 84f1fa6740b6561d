"""The monitoring worker: domain topic in, incidents, case openings and refusals out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemas.topics import domain_topic, state_topic
from services.monitoring.correlate import CorrelationConfig
from services.monitoring.geo import GeoConfig, GeoConfigError, load_geo
from services.monitoring.service import MonitoringService, ServiceConfig
from services.monitoring.settings import MonitoringSettings
from services.monitoring.validate import Limits
from services.runtime.errors import ConfigurationError
from services.runtime.outbox import ServiceDesk
from services.runtime.txloop import run_loop


def service_config(settings: MonitoringSettings, *, fallback_nation: str = "FRA") -> ServiceConfig:
    return ServiceConfig(
        desk=ServiceDesk(desk_id=settings.service_desk, prefix=settings.topic_prefix),
        correlation=CorrelationConfig(
            radius_m=settings.correlation_radius_m,
            window_s=settings.correlation_window_s,
            near_duplicate_m=settings.near_duplicate_m,
            near_duplicate_s=settings.near_duplicate_s,
            corroboration_threshold=settings.corroboration_threshold,
            fallback_nation=fallback_nation,
        ),
        limits=Limits(clock_skew_s=settings.clock_skew_s, max_window_s=settings.max_window_s),
        parties=settings.parties,
    )


async def run(
    settings: MonitoringSettings, stop: asyncio.Event, *, geo: GeoConfig | None = None
) -> None:
    """Correlate until ``stop`` is set; bad configuration fails at once."""
    try:
        zones = geo if geo is not None else load_geo(Path(settings.geo_file))
    except GeoConfigError as exc:
        raise ConfigurationError(str(exc)) from exc
    config = service_config(settings)
    await run_loop(
        settings,
        stop,
        name="monitoring",
        input_topic=domain_topic("monitoring", prefix=settings.topic_prefix),
        state_topic=state_topic("incidents", prefix=settings.topic_prefix),
        make_handler=lambda: MonitoringService(config, zones),
    )
