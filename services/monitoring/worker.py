"""The monitoring worker: domain topic in; incidents, case openings, summaries, refusals out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.desks import DeskRegistry
from schemas.topics import domain_topic, state_topic
from services.monitoring.correlate import CorrelationConfig
from services.monitoring.geo import GeoConfig, GeoConfigError, load_geo
from services.monitoring.service import MonitoringService, ServiceConfig
from services.monitoring.settings import MonitoringSettings
from services.monitoring.summary import parse_time_of_day
from services.monitoring.validate import Limits
from services.runtime.errors import ConfigurationError
from services.runtime.outbox import ServiceDesk
from services.runtime.servicedesk import service_desk
from services.runtime.txloop import run_loop


def service_config(
    settings: MonitoringSettings, *, desk: ServiceDesk | None = None
) -> ServiceConfig:
    """The service's configuration from its settings, where every default lives."""
    return ServiceConfig(
        desk=desk or ServiceDesk(desk_id=settings.service_desk, prefix=settings.topic_prefix),
        correlation=CorrelationConfig(
            radius_m=settings.correlation_radius_m,
            window_s=settings.correlation_window_s,
            near_duplicate_m=settings.near_duplicate_m,
            near_duplicate_s=settings.near_duplicate_s,
            corroboration_threshold=settings.corroboration_threshold,
        ),
        limits=Limits(clock_skew_s=settings.clock_skew_s, max_window_s=settings.max_window_s),
        parties=settings.parties,
        summary_at=parse_time_of_day(settings.summary_at),
        summary_to=settings.summary_addressees,
        horizon=timedelta(hours=settings.incident_horizon_h),
    )


async def run(
    settings: MonitoringSettings,
    stop: asyncio.Event,
    *,
    geo: GeoConfig | None = None,
    registry: DeskRegistry | None = None,
) -> None:
    """Correlate until ``stop`` is set; bad configuration (zones, desks) fails at once."""
    try:
        zones = geo if geo is not None else load_geo(Path(settings.geo_file))
    except GeoConfigError as exc:
        raise ConfigurationError(str(exc)) from exc
    desk, desks = service_desk(
        settings.service_desk,
        desks_file=settings.desks_file,
        prefix=settings.topic_prefix,
        registry=registry,
    )
    config = service_config(settings, desk=desk)
    await run_loop(
        settings,
        stop,
        name="monitoring",
        input_topic=domain_topic("monitoring", prefix=settings.topic_prefix),
        state_topic=state_topic("incidents", prefix=settings.topic_prefix),
        make_handler=lambda: MonitoringService(
            config, zones, registry=desks, started=datetime.now(UTC)
        ),
    )
