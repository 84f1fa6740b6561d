"""Refusal of impossible observations, each with a reason the reporter can act on.

Checks are per observation so one bad line does not void a report's good ones. Every limit
is in ``Limits`` (from settings); the defaults are deliberately loose: they catch the
impossible (a window ending tomorrow, a sound heard 200 km away, 100,000 artillery rounds in a
minute), not the unusual.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct

from schemas.kinds.monitoring import MonitoringReport, Observation, ObservationMode, WeaponCategory
from services.monitoring.geo import GeoConfig
from services.monitoring.timenorm import UnknownZone, UtcWindow, normalise

_W = WeaponCategory
# Most events of one weapon category a single observation can plausibly count per minute.
MAX_PER_MINUTE: dict[WeaponCategory, int] = {
    _W.SMALL_ARMS: 2_000,
    _W.HEAVY_MACHINE_GUN: 1_000,
    _W.AUTOMATIC_GRENADE_LAUNCHER: 400,
    _W.ANTI_TANK_GUIDED_MISSILE: 20,
    _W.MORTAR: 150,
    _W.ARTILLERY_UNDER_100MM: 150,
    _W.ARTILLERY_100MM_PLUS: 150,
    _W.TANK: 60,
    _W.MLRS: 400,
    _W.MISSILE: 30,
    _W.AIRCRAFT: 30,
    _W.UAV: 60,
    _W.UNKNOWN: 2_000,
}
_AUDIBLE_MODES = frozenset({ObservationMode.HEARD, ObservationMode.ACOUSTIC})


class Limits(Struct, frozen=True, kw_only=True):
    clock_skew_s: float  # a window may end this far past "now" (clocks drift); from settings
    max_window_s: float  # from settings
    period_slack_s: float = 3_600.0  # observation outside the report period by more: refused
    max_audible_m: float = 30_000.0  # beyond it nothing is HEARD, even heavy artillery


class Refusal(Struct, frozen=True, kw_only=True):
    observation_id: str | None  # None: the whole report
    reason: str

    def render(self) -> str:
        return f"{self.observation_id}: {self.reason}" if self.observation_id else self.reason


class Checked(Struct, frozen=True, kw_only=True):
    observation: Observation
    window: UtcWindow


def check_report(
    report: MonitoringReport, *, now: datetime, geo: GeoConfig, limits: Limits
) -> tuple[list[Checked], list[Refusal]]:
    accepted: list[Checked] = []
    refused: list[Refusal] = []
    for observation in report.observations:
        try:
            window = normalise(observation.window)
        except UnknownZone as exc:
            refused.append(Refusal(observation_id=observation.observation_id, reason=str(exc)))
            continue
        reason = _impossible(observation, window, report, now=now, geo=geo, limits=limits)
        if reason is None:
            accepted.append(Checked(observation=observation, window=window))
        else:
            refused.append(Refusal(observation_id=observation.observation_id, reason=reason))
    return accepted, refused


def _impossible(  # noqa: PLR0911 - one return per rule, in the rules' order
    obs: Observation,
    window: UtcWindow,
    report: MonitoringReport,
    *,
    now: datetime,
    geo: GeoConfig,
    limits: Limits,
) -> str | None:
    ahead = (window.end - now).total_seconds()
    if ahead > limits.clock_skew_s:
        return f"observation window ends {ahead / 60:.0f} min in the future"
    length = (window.end - window.start).total_seconds()
    if length > limits.max_window_s:
        hours, limit = length / 3600, limits.max_window_s / 3600
        return f"observation window of {hours:.1f} h exceeds {limit:.0f} h"
    slack = timedelta(seconds=limits.period_slack_s)
    if window.end < report.period.start - slack or window.start > report.period.end + slack:
        return "observation window lies outside the report period"
    pos = obs.observer_position
    if not geo.in_area(pos.lat, pos.lon):
        return (
            f"observer position {pos.lat:.4f},{pos.lon:.4f} is outside the area of responsibility"
        )
    impact = obs.impact_location
    if impact is not None and not geo.in_area(impact.lat, impact.lon):
        where = f"{impact.lat:.4f},{impact.lon:.4f}"
        return f"impact location {where} is outside the area of responsibility"
    distance = obs.direction.distance if obs.direction is not None else None
    if (
        obs.mode in _AUDIBLE_MODES
        and distance is not None
        and distance.min_m > limits.max_audible_m
    ):
        return f"{obs.mode.value} at {distance.min_m / 1000:.0f} km is beyond audible range"
    minutes = max(1.0, length / 60)
    ceiling = MAX_PER_MINUTE[obs.weapon] * minutes
    if obs.count > ceiling:
        return f"count {obs.count} of {obs.weapon.value} in {minutes:.0f} min is not possible"
    return None
