"""Monitoring service settings: the common ones plus correlation, plausibility and rules."""

from __future__ import annotations

from typing import Annotated

import msgspec

from schemas.addresses import ADDRESS_PATTERN
from schemas.common import whole
from services.runtime.settings import CommonSettings

_DESK = r"^[a-z0-9][a-z0-9._-]{1,62}$"
_ADDRESS = ADDRESS_PATTERN.removeprefix("^").removesuffix("$(?!\\n)")
_ADDRESSES = whole(f"{_ADDRESS}(,{_ADDRESS})*")
# The summary compares two 24 h periods and may run up to a day late (a restart after the
# scheduled time): the index must still hold 72 h of incidents then.
MIN_HORIZON_H = 72.0


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
    summary_at: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
            description="UTC time of day (HH:MM) the daily violations summary is sent",
        ),
    ] = "06:00"
    summary_to: Annotated[
        str,
        msgspec.Meta(
            pattern=_ADDRESSES,
            description="Addressees of the daily summary (desk ids or groups, comma-separated)",
        ),
    ] = "COMMISSION,ROLE:WATCH"
    incident_horizon_h: Annotated[
        float,
        msgspec.Meta(
            ge=MIN_HORIZON_H,
            le=90 * 24,
            description="Incidents older than this leave the in-memory index (not the topic); "
            "older observations are refused",
        ),
    ] = 192.0

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.ceasefire_parties.split(","))

    @property
    def summary_addressees(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.summary_to.split(",")))
