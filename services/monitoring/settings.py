"""Monitoring service settings: the common ones plus correlation, plausibility and rules."""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.runtime.settings import CommonSettings

_DESK = r"^[a-z0-9][a-z0-9._-]{1,62}$"


class MonitoringSettings(CommonSettings, frozen=True, kw_only=True):
    group_id: Annotated[
        str, msgspec.Meta(min_length=1, description="Consumer group (and transactional id)")
    ] = "cell-monitoring"
    service_desk: Annotated[
        str, msgspec.Meta(pattern=_DESK, description="Desk id the service signs its messages with")
    ] = "svc.monitoring"
    geo_file: Annotated[
        str, msgspec.Meta(description="GeoJSON: area of responsibility and withdrawal zones")
    ] = "deploy/geo/ceasefire-zones.geojson"
    correlation_radius_m: Annotated[
        float, msgspec.Meta(gt=0, le=50_000, description="Observations this close are one event")
    ] = 1_500.0
    correlation_window_s: Annotated[
        float, msgspec.Meta(gt=0, le=86_400, description="Windows this close are one event")
    ] = 900.0
    near_duplicate_m: Annotated[
        float, msgspec.Meta(ge=0, description="Same observer, this close: a repeat, not news")
    ] = 250.0
    near_duplicate_s: Annotated[
        float, msgspec.Meta(ge=0, description="Same observer, this close in time: a repeat")
    ] = 120.0
    corroboration_threshold: Annotated[
        int, msgspec.Meta(ge=2, le=100, description="Distinct observers that open a breach case")
    ] = 3
    ceasefire_parties: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[A-Z]{3}(,[A-Z]{3})*$",
            description="Parties named respondents of a case the mechanism opens (ISO3, comma)",
        ),
    ] = "RUS,UKR"
    clock_skew_s: Annotated[
        float, msgspec.Meta(ge=0, description="How far past now an observation may end")
    ] = 300.0
    max_window_s: Annotated[
        float, msgspec.Meta(gt=0, description="Longest observation window accepted")
    ] = 86_400.0
    poll_timeout_ms: Annotated[
        int, msgspec.Meta(ge=10, le=10_000, description="Longest wait for new reports")
    ] = 200
    batch_max_records: Annotated[
        int, msgspec.Meta(ge=1, le=10_000, description="Reports per transaction")
    ] = 200
    state_catchup_timeout_s: Annotated[
        float, msgspec.Meta(gt=0, le=3600, description="Deadline to replay incidents at start")
    ] = 120.0
    tick_interval_s: Annotated[
        float, msgspec.Meta(gt=0, le=3600, description="Period of housekeeping checks")
    ] = 60.0

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.ceasefire_parties.split(","))
