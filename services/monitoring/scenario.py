"""Realistic monitoring traffic for tests, demos and the correlation benchmark.

Three monitoring teams around one artillery impact: one with crater analysis at the impact,
two hearing it from kilometres away and giving a 16-point bearing and a distance range. The
observer positions are derived from the impact so the bearings are consistent by
construction, as they would be for a real salvo. Positions are notional (see deploy/geo).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from schemas.common import Position, TimeWindow, TrafficType
from schemas.envelope import Envelope
from schemas.kinds.monitoring import (
    Casualties,
    CompassPoint,
    Confidence,
    Direction,
    DistanceRange,
    EventType,
    MonitoringReport,
    Observation,
    ObservationMode,
    ReportType,
    SourceReliability,
    WeaponCategory,
)
from schemas.labels import Classification, Policy, SecurityLabel
from schemas.precedence import Precedence
from services.monitoring.geo import compass_degrees, destination

REL_TO = ("USA", "UKR", "GBR", "FRA", "DEU", "POL", "CAN", "NLD", "ITA")
KYIV = "Europe/Kyiv"
# Notional points: one inside the central withdrawal zone, one well behind the line.
IN_ZONE = (48.45, 37.95)
OUTSIDE_ZONE = (47.70, 35.40)


def label(now: datetime, rel_to: Sequence[str] = REL_TO) -> SecurityLabel:
    return SecurityLabel(
        policy=Policy.NATO,
        classification=Classification.NATO_RESTRICTED,
        releasable_to=tuple(rel_to),
        created_at=now,
    )


def heard(
    observation_id: str,
    impact: tuple[float, float],
    *,
    bearing: CompassPoint,
    distance_m: float,
    start: datetime,
    weapon: WeaponCategory = WeaponCategory.ARTILLERY_100MM_PLUS,
    count: int = 4,
    casualties: Casualties | None = None,
) -> Observation:
    """An observer ``distance_m`` from the impact, who hears it on ``bearing``."""
    back = (compass_degrees(bearing) + 180.0) % 360.0
    lat, lon = destination(impact[0], impact[1], back, distance_m)
    return Observation(
        observation_id=observation_id,
        observer_position=Position(lat=round(lat, 5), lon=round(lon, 5), precision_m=10.0),
        mode=ObservationMode.HEARD,
        window=TimeWindow(start=start, end=start + timedelta(minutes=3), original_tz=KYIV),
        event_type=EventType.EXPLOSION,
        count=count,
        weapon=weapon,
        direction=Direction(
            bearing=bearing,
            distance=DistanceRange(min_m=distance_m - 1000.0, max_m=distance_m + 1000.0),
        ),
        casualties=casualties,
        confidence=Confidence(reliability=SourceReliability.B, credibility=2),
    )


def crater(
    observation_id: str,
    impact: tuple[float, float],
    *,
    start: datetime,
    weapon: WeaponCategory = WeaponCategory.ARTILLERY_100MM_PLUS,
    casualties: Casualties | None = None,
) -> Observation:
    """A team at the impact site, 300 m away, placing the crater to 20 m."""
    lat, lon = destination(impact[0], impact[1], 225.0, 300.0)
    crater_lat, crater_lon = destination(impact[0], impact[1], 45.0, 60.0)
    return Observation(
        observation_id=observation_id,
        observer_position=Position(lat=round(lat, 5), lon=round(lon, 5), precision_m=10.0),
        mode=ObservationMode.CRATER_ANALYSIS,
        window=TimeWindow(start=start, end=start + timedelta(minutes=5), original_tz=KYIV),
        event_type=EventType.IMPACT,
        count=4,
        weapon=weapon,
        impact_location=Position(
            lat=round(crater_lat, 5), lon=round(crater_lon, 5), precision_m=20.0
        ),
        casualties=casualties,
        confidence=Confidence(reliability=SourceReliability.A, credibility=1),
    )


def report_envelope(
    originator: str,
    team: str,
    observations: Sequence[Observation],
    *,
    now: datetime,
    report_id: str | None = None,
    message_id: uuid.UUID | None = None,
    rel_to: Sequence[str] = REL_TO,
    traffic_type: TrafficType = TrafficType.OPERATION,
) -> Envelope:
    starts = [o.window.start for o in observations] or [now - timedelta(hours=1)]
    ends = [o.window.end for o in observations] or [now]
    report = MonitoringReport(
        report_id=report_id or f"{originator}-spot-{uuid.uuid4().hex[:8]}",
        report_type=ReportType.SPOT,
        team=team,
        sector="Donetsk / Bakhmut",
        period=TimeWindow(start=min(starts), end=max(ends), original_tz=KYIV),
        observations=tuple(observations),
    )
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        traffic_type=traffic_type,
        originator=originator,
        action_to=("ROLE:WATCH",),
        info_to=("COMMISSION",),
        primary_precedence=Precedence.IMMEDIATE,
        copy_precedence=Precedence.PRIORITY,
        label=label(now, rel_to),
        subject=f"SPOT report {report.report_id}"[:200],
        created_at=now,
        released_at=now,
        correlation_id=report.report_id,
        body=report,
    )


def three_monitors(
    impact: tuple[float, float], *, now: datetime, start: datetime | None = None
) -> list[Envelope]:
    """Three teams (three desks) reporting one impact with consistent positions and bearings."""
    at = start or now - timedelta(hours=2)
    return [
        report_envelope(
            "gbr.pjhq",
            "Team Bakhmut-1",
            [heard("obs-1", impact, bearing=CompassPoint.E, distance_m=4000.0, start=at)],
            now=now,
        ),
        report_envelope(
            "fra.cell",
            "Team Bakhmut-2",
            [
                heard(
                    "obs-1",
                    impact,
                    bearing=CompassPoint.SSE,
                    distance_m=5000.0,
                    start=at + timedelta(minutes=1),
                )
            ],
            now=now,
        ),
        report_envelope(
            "pol.mon",
            "Team Bakhmut-3",
            [crater("obs-1", impact, start=at + timedelta(minutes=10))],
            now=now,
        ),
    ]


def random_members_input(
    count: int, *, now: datetime, seed: int = 7, sites: int = 20_000
) -> Iterator[Envelope]:
    """``count`` single-observation reports around ``sites`` random impacts in the area.

    Each impact is reported by several teams, so correlation has real work to do.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
    points = [(rng.uniform(47.3, 49.6), rng.uniform(35.0, 39.0)) for _ in range(sites)]
    times = [now - timedelta(seconds=rng.uniform(3600, 30 * 86400)) for _ in range(sites)]
    bearings = list(CompassPoint)
    for n in range(count):
        site = rng.randrange(sites)
        observation = heard(
            "obs-1",
            points[site],
            bearing=bearings[rng.randrange(16)],
            distance_m=rng.uniform(2000.0, 6000.0),
            start=times[site] + timedelta(seconds=rng.uniform(0, 240)),
            weapon=rng.choice(list(WeaponCategory)),
        )
        yield report_envelope(f"desk{n % 50:02d}.mon", f"Team {n % 200}", [observation], now=now)
