"""Support service settings: the common ones plus its desk, group and housekeeping."""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.runtime.settings import CommonSettings


class SupportSettings(CommonSettings, frozen=True, kw_only=True):
    group_id: Annotated[
        str, msgspec.Meta(min_length=1, description="Consumer group (and transactional id)")
    ] = "cell-support"
    service_desk: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$",
            description="Desk id the service signs its messages with (needs SERVICE)",
        ),
    ] = "svc.support"
    alert_wait_s: Annotated[
        float,
        msgspec.Meta(
            gt=0, le=86_400, description="How long a DEPOT_DRAW waits for the alert it cites"
        ),
    ] = 600.0
    poll_timeout_ms: Annotated[
        int, msgspec.Meta(ge=10, le=10_000, description="Longest wait for new support traffic")
    ] = 200
    batch_max_records: Annotated[
        int, msgspec.Meta(ge=1, le=10_000, description="Support messages per transaction")
    ] = 200
    state_catchup_timeout_s: Annotated[
        float, msgspec.Meta(gt=0, le=3600, description="Deadline to replay requests at start")
    ] = 120.0
    tick_interval_s: Annotated[
        float, msgspec.Meta(gt=0, le=3600, description="Period of the offer-expiry check")
    ] = 60.0
