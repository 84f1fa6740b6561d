"""Tasking service settings: the common ones plus its desk, group and deadline checks."""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.runtime.settings import CommonSettings


class TaskingSettings(CommonSettings, frozen=True, kw_only=True):
    group_id: Annotated[
        str, msgspec.Meta(min_length=1, description="Consumer group (and transactional id)")
    ] = "cell-tasking"
    service_desk: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$",
            description="Desk id the service signs its messages with (needs SERVICE)",
        ),
    ] = "svc.tasking"
    ack_window_s: Annotated[
        float,
        msgspec.Meta(
            gt=0, le=604_800, description="Acknowledgement deadline of an order without ack_by"
        ),
    ] = 3600.0
    poll_timeout_ms: Annotated[
        int, msgspec.Meta(ge=10, le=10_000, description="Longest wait for new tasking traffic")
    ] = 200
    batch_max_records: Annotated[
        int, msgspec.Meta(ge=1, le=10_000, description="Tasking messages per transaction")
    ] = 200
    state_catchup_timeout_s: Annotated[
        float, msgspec.Meta(gt=0, le=3600, description="Deadline to replay orders at start")
    ] = 120.0
    tick_interval_s: Annotated[
        float, msgspec.Meta(gt=0, le=3600, description="Period of the overdue-task check")
    ] = 30.0
