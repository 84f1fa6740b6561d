"""Router settings: the common ones plus what tunes batching, state and acknowledgements."""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.runtime.settings import CommonSettings


class RouterSettings(CommonSettings, frozen=True, kw_only=True):
    group_id: Annotated[
        str, msgspec.Meta(min_length=1, description="Consumer group of the router instances")
    ] = "cell-router"
    service_desk: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$",
            description="Desk id the router signs its reports and escalations with",
        ),
    ] = "cell.router"
    batch_max_records: Annotated[
        int, msgspec.Meta(ge=1, le=10_000, description="Submissions per routing transaction")
    ] = 500
    preempt_chunk_records: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=10_000,
            description="Submissions planned between two checks for a higher lane's backlog; "
            "a lower lane's batch yields to it at the next check",
        ),
    ] = 20
    fetch_partition_bytes: Annotated[
        int,
        msgspec.Meta(
            ge=64 * 1024,
            le=64 * 1024 * 1024,
            description="Most bytes one fetch returns per submit partition; about one batch, so "
            "a batch empties the fetch buffer and the next fetch, which reveals a higher lane's "
            "arrivals, goes out while the batch is planned",
        ),
    ] = 512 * 1024
    poll_timeout_ms: Annotated[
        int, msgspec.Meta(ge=10, le=10_000, description="Longest wait for new submissions")
    ] = 200
    dedup_window_s: Annotated[
        float,
        msgspec.Meta(gt=0, description="How long a (originator, message id) stays deduplicated"),
    ] = 7 * 24 * 3600.0
    ack_check_interval_s: Annotated[
        float,
        msgspec.Meta(gt=0, le=3600, description="Period of the acknowledgement deadline check"),
    ] = 1.0
    state_catchup_timeout_s: Annotated[
        float,
        msgspec.Meta(gt=0, le=3600, description="Deadline to replay router state on assignment"),
    ] = 120.0
