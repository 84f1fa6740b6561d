"""The daily violations summary, computed from the incident index: no Kafka here.

A violation is an incident the mechanism itself recorded: not DISMISSED, and with at least
one observation that is not a party's relayed allegation (DOMAIN §7 keeps the mechanism's
own observations apart from claims). Every event type counts (shelling, small-arms fire,
heavy weapons in a zone, restrictions of access are all breaches of the arrangements); the
rows say which. An incident belongs to the period its window starts in, and to the region
its centre lies in: the withdrawal zone, else the area of responsibility, else OUTSIDE_AOR.
Only incidents of the summary's traffic type count: exercise incidents never reach an
operational summary.

The period is [end - 24 h, end), compared with [end - 48 h, end - 24 h). The scheduled one
ends at the configured UTC time of day; its message id derives from that end, so a resend
after a crash is the same message (the router drops it) and the state mark stops the resend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from msgspec import Struct

from schemas.common import TrafficType
from schemas.dtg import format_dtg
from schemas.kinds.monitoring import EventType, IncidentStatus
from schemas.kinds.summary import SummaryRow, SummaryTrigger, ViolationSummary
from schemas.labels import Classification, Policy, SecurityLabel, rel_to_order
from services.monitoring.geo import GeoConfig
from services.monitoring.labelling import combine
from services.monitoring.records import IncidentRecord

PERIOD = timedelta(hours=24)
DEFINITION = (
    "Violations: incidents not dismissed with at least one observation by the mechanism itself "
    "(not only a party's allegation), counted in the period their window starts; region: the "
    "withdrawal zone containing the incident, else the area of responsibility, else OUTSIDE_AOR."
)


def parse_time_of_day(text: str) -> time:
    """``"06:00"`` -> 06:00 (the settings pattern has checked the shape)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def due_period_end(now: datetime, at: time) -> datetime:
    """The end of the latest scheduled period: today at ``at`` (UTC), or yesterday's."""
    today = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return today if today <= now else today - PERIOD


def is_violation(record: IncidentRecord) -> bool:
    return record.incident.status is not IncidentStatus.DISMISSED and any(
        not m.allegation for m in record.members
    )


class Counted(Struct, frozen=True, kw_only=True):
    rows: tuple[SummaryRow, ...]
    labels: tuple[SecurityLabel, ...]  # of every incident counted, either period
    incidents: int


def count(
    records: Iterable[IncidentRecord],
    *,
    period_end: datetime,
    traffic_type: TrafficType,
    geo: GeoConfig,
) -> Counted:
    """Violations by (region, event type) in the period ending at ``period_end`` and before."""
    start, previous_start = period_end - PERIOD, period_end - 2 * PERIOD
    current: Counter[tuple[str, EventType]] = Counter()
    previous: Counter[tuple[str, EventType]] = Counter()
    labels: list[SecurityLabel] = []
    for record in records:
        began = record.incident.window.start
        if (
            not previous_start <= began < period_end
            or record.traffic_type is not traffic_type
            or not is_violation(record)
        ):
            continue
        where = record.incident.location
        key = (geo.region_at(where.lat, where.lon), record.incident.event_type)
        (current if began >= start else previous)[key] += 1
        if record.label not in labels:
            labels.append(record.label)
    rows = tuple(
        SummaryRow(
            region=region,
            event_type=event,
            count=current[region, event],
            previous_count=previous[region, event],
            delta=current[region, event] - previous[region, event],
        )
        for region, event in sorted(current.keys() | previous.keys())
    )
    return Counted(rows=rows, labels=tuple(labels), incidents=current.total() + previous.total())


def summary_body(
    counted: Counted,
    *,
    summary_id: str,
    trigger: SummaryTrigger,
    period_end: datetime,
    now: datetime,
) -> ViolationSummary:
    total = sum(row.count for row in counted.rows)
    previous_total = sum(row.previous_count for row in counted.rows)
    return ViolationSummary(
        summary_id=summary_id,
        trigger=trigger,
        period_start=period_end - PERIOD,
        period_end=period_end,
        previous_start=period_end - 2 * PERIOD,
        previous_end=period_end - PERIOD,
        rows=counted.rows,
        total=total,
        previous_total=previous_total,
        total_delta=total - previous_total,
        generated_at=now,
        definition=DEFINITION,
    )


def summary_label(counted: Counted, floor: SecurityLabel, *, fallback_nation: str) -> SecurityLabel:
    """No lower than any incident counted (the counts reveal they exist), nor than ``floor``.

    The same rule as an incident's own label (``labelling.combine``): highest level,
    releasable only where every source is, every restrictive category.
    """
    return combine([floor, *counted.labels], fallback_nation=fallback_nation)


def subject(body: ViolationSummary) -> str:
    daily = "DAILY " if body.trigger is SummaryTrigger.SCHEDULED else ""
    return (
        f"{daily}VIOLATIONS SUMMARY TO {format_dtg(body.period_end)}: "
        f"{body.total} ({body.total_delta:+d} on the previous 24 h)"
    )


def scheduled_id(period_end: datetime) -> str:
    return f"sum-{period_end:%Y%m%dT%H%MZ}"


def floor_label(nations: Iterable[str], now: datetime, *, fallback_nation: str) -> SecurityLabel:
    """The least a summary carries: a monitoring product, RESTRICTED, for its addressees."""
    return SecurityLabel(
        policy=Policy.NATO,
        classification=Classification.NATO_RESTRICTED,
        releasable_to=tuple(rel_to_order(sorted(set(nations)) or [fallback_nation])),
        created_at=now,
    )
