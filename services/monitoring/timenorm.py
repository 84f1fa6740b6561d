"""Observation times: UTC for computation, the reporter's zone kept for the record.

The wire already refuses zone-less timestamps and ``TimeWindow`` stores UTC; what is left
is to check the zone the reporter named (an unknown IANA name is refused, not guessed) and
to render the window back in it when a human reads the incident.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Struct

from schemas.common import TimeWindow

DEFAULT_ZONE = "UTC"


class UtcWindow(Struct, frozen=True, kw_only=True):
    start: datetime  # UTC
    end: datetime  # UTC
    source_zone: str  # IANA name the reporter used; "UTC" when none was given

    @property
    def midpoint(self) -> datetime:
        return self.start + (self.end - self.start) / 2

    def local(self) -> tuple[datetime, datetime]:
        """The window as the reporter saw it."""
        zone = ZoneInfo(self.source_zone)
        return self.start.astimezone(zone), self.end.astimezone(zone)


class UnknownZone(ValueError):
    """The reporter named a time zone the IANA database does not know."""


def normalise(window: TimeWindow) -> UtcWindow:
    zone = window.original_tz or DEFAULT_ZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(f"unknown time zone {zone!r}") from exc
    return UtcWindow(
        start=window.start.astimezone(UTC), end=window.end.astimezone(UTC), source_zone=zone
    )


def from_local(start: datetime, end: datetime, zone: str) -> TimeWindow:
    """A window from naive local wall-clock times in ``zone`` (e.g. a form's fields)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(f"unknown time zone {zone!r}") from exc
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("local times must be naive; the zone is given separately")
    return TimeWindow(
        start=start.replace(tzinfo=tz).astimezone(UTC),
        end=end.replace(tzinfo=tz).astimezone(UTC),
        original_tz=zone,
    )
