"""The daily violations summary of the monitoring mechanism, and the request for one.

A summary counts the ceasefire violations the mechanism recorded over a 24 h period, by
region (withdrawal zone, else area of responsibility) and event type, beside the same counts
for the period before. It is produced at a configured time of day and on request by a WATCH
or COMMISSION desk. The counts are redundant on purpose (``delta``, totals): a reader in any
language gets the figures it shows without recomputing them, and the decoder checks they
agree.
"""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from typing import Annotated, ClassVar

from msgspec import Meta, Struct

from schemas.common import EntityId, Name, ShortText, UtcDatetime, invalid, require_utc
from schemas.kinds.base import BodyBase
from schemas.kinds.monitoring import EventType

Count = Annotated[int, Meta(ge=0, le=100_000)]
Delta = Annotated[int, Meta(ge=-100_000, le=100_000)]
Total = Annotated[int, Meta(ge=0, le=10_000_000)]
TotalDelta = Annotated[int, Meta(ge=-10_000_000, le=10_000_000)]


class SummaryTrigger(StrEnum):
    SCHEDULED = "SCHEDULED"  # the daily run at the configured time
    ON_DEMAND = "ON_DEMAND"  # answering a monitoring.summary_request.v1


class SummaryRow(Struct, frozen=True, kw_only=True):
    """Violations of one event type in one region, this period and the previous one."""

    region: Name  # withdrawal zone or area of responsibility name, or OUTSIDE_AOR
    event_type: EventType
    count: Count
    previous_count: Count
    delta: Delta  # count - previous_count

    def __post_init__(self) -> None:
        if self.delta != self.count - self.previous_count:
            raise invalid("delta", "must equal `count` - `previous_count`")


def _row_sums(rows: tuple[SummaryRow, ...]) -> tuple[int, int]:
    """The rows' ``count`` and ``previous_count`` sums, once each (region, type) is unique."""
    if len({(row.region, row.event_type) for row in rows}) != len(rows):
        seen: set[tuple[str, EventType]] = set()
        for index, row in enumerate(rows):
            if (row.region, row.event_type) in seen:
                raise invalid(f"rows[{index}]", "repeats a region and event type")
            seen.add((row.region, row.event_type))
    total = previous = 0
    for row in rows:
        total += row.count
        previous += row.previous_count
    return total, previous


class ViolationSummary(BodyBase, frozen=True, kw_only=True, tag="monitoring.summary.v1"):
    """Violations by region and event type over [period_start, period_end) vs the period before."""

    family: ClassVar[str | None] = "monitoring"

    summary_id: EntityId
    trigger: SummaryTrigger
    period_start: UtcDatetime
    period_end: UtcDatetime
    previous_start: UtcDatetime
    previous_end: UtcDatetime
    rows: Annotated[tuple[SummaryRow, ...], Meta(max_length=1000)] = ()
    total: Total = 0
    previous_total: Total = 0
    total_delta: TotalDelta = 0
    generated_at: UtcDatetime
    # What the mechanism counted as a violation, in words, for the reader.
    definition: ShortText = ""

    def __post_init__(self) -> None:
        if (
            self.period_start.tzinfo is not UTC
            or self.period_end.tzinfo is not UTC
            or self.previous_start.tzinfo is not UTC
            or self.previous_end.tzinfo is not UTC
            or self.generated_at.tzinfo is not UTC
        ):
            require_utc(
                self, "period_start", "period_end", "previous_start", "previous_end", "generated_at"
            )
        if self.period_end <= self.period_start:
            raise invalid("period_end", "must be after `period_start`")
        if self.previous_end <= self.previous_start:
            raise invalid("previous_end", "must be after `previous_start`")
        if self.previous_end > self.period_start:
            raise invalid("previous_end", "must not be after `period_start`")
        total, previous = _row_sums(self.rows)
        if self.total != total:
            raise invalid("total", "must equal the sum of the rows' `count`")
        if self.previous_total != previous:
            raise invalid("previous_total", "must equal the sum of the rows' `previous_count`")
        if self.total_delta != self.total - self.previous_total:
            raise invalid("total_delta", "must equal `total` - `previous_total`")

    def entity_key(self) -> str:
        return self.summary_id


class SummaryRequest(BodyBase, frozen=True, kw_only=True, tag="monitoring.summary_request.v1"):
    """Ask the monitoring service for a summary now (WATCH or COMMISSION desks only).

    The period is the 24 h ending at ``period_end``, or at the request's release when it is
    omitted; the answer goes to the requesting desk.
    """

    family: ClassVar[str | None] = "monitoring"

    period_end: UtcDatetime | None = None
    remarks: ShortText = ""

    def __post_init__(self) -> None:
        if self.period_end is not None and self.period_end.tzinfo is not UTC:
            require_utc(self, "period_end")
