"""Ceasefire monitoring: reports with observations, and incidents the cell correlates.

An observation records what was perceived, not who is to blame: ``assessed_origin`` is a
place or direction, never an attribution (that is the Special Commission's determination).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from msgspec import Meta, Struct

from schemas.common import (
    EntityId,
    EvidenceRef,
    LocalId,
    Name,
    Nation,
    Position,
    ShortText,
    Text,
    TimeWindow,
    invalid,
    require_unique,
)
from schemas.kinds.base import BodyBase

Count = Annotated[int, Meta(ge=0, le=100_000)]


class ReportType(StrEnum):
    DAILY = "DAILY"
    SPOT = "SPOT"
    FLASH_INCIDENT = "FLASH_INCIDENT"


class ObservationMode(StrEnum):
    HEARD = "HEARD"
    SAW = "SAW"
    CAMERA = "CAMERA"
    UAV = "UAV"
    RADAR = "RADAR"
    ACOUSTIC = "ACOUSTIC"
    SATELLITE = "SATELLITE"
    CRATER_ANALYSIS = "CRATER_ANALYSIS"
    INTERVIEW = "INTERVIEW"  # witness account gathered by the team


class EventType(StrEnum):
    EXPLOSION = "EXPLOSION"
    IMPACT = "IMPACT"
    OUTGOING_FIRE = "OUTGOING_FIRE"
    SMALL_ARMS_BURSTS = "SMALL_ARMS_BURSTS"
    DRONE_STRIKE = "DRONE_STRIKE"
    MISSILE_STRIKE = "MISSILE_STRIKE"
    AIR_STRIKE = "AIR_STRIKE"
    MINE_IED = "MINE_IED"
    GROUND_ASSAULT = "GROUND_ASSAULT"
    HEAVY_WEAPON_IN_WITHDRAWAL_ZONE = "HEAVY_WEAPON_IN_WITHDRAWAL_ZONE"
    MILITARY_MOVEMENT = "MILITARY_MOVEMENT"
    RESTRICTION_OF_ACCESS = "RESTRICTION_OF_ACCESS"  # monitors denied passage
    OTHER = "OTHER"


class CountQualifier(StrEnum):
    EXACT = "EXACT"
    ABOUT = "ABOUT"
    AT_LEAST = "AT_LEAST"


class WeaponCategory(StrEnum):
    SMALL_ARMS = "SMALL_ARMS"
    HEAVY_MACHINE_GUN = "HEAVY_MACHINE_GUN"
    AUTOMATIC_GRENADE_LAUNCHER = "AUTOMATIC_GRENADE_LAUNCHER"
    ANTI_TANK_GUIDED_MISSILE = "ANTI_TANK_GUIDED_MISSILE"
    MORTAR = "MORTAR"
    ARTILLERY_UNDER_100MM = "ARTILLERY_UNDER_100MM"
    ARTILLERY_100MM_PLUS = "ARTILLERY_100MM_PLUS"
    TANK = "TANK"
    MLRS = "MLRS"
    MISSILE = "MISSILE"
    AIRCRAFT = "AIRCRAFT"
    UAV = "UAV"
    UNKNOWN = "UNKNOWN"


class CompassPoint(StrEnum):
    """The 16-point compass rose."""

    N = "N"
    NNE = "NNE"
    NE = "NE"
    ENE = "ENE"
    E = "E"
    ESE = "ESE"
    SE = "SE"
    SSE = "SSE"
    S = "S"
    SSW = "SSW"
    SW = "SW"
    WSW = "WSW"
    W = "W"
    WNW = "WNW"
    NW = "NW"
    NNW = "NNW"


class SourceReliability(StrEnum):
    """Admiralty code, A (completely reliable) to F (cannot be judged)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class Confidence(Struct, frozen=True, kw_only=True):
    """Admiralty grading, e.g. B2: reliability of the source, credibility of the item."""

    reliability: SourceReliability
    credibility: Annotated[int, Meta(ge=1, le=6)]


class DistanceRange(Struct, frozen=True, kw_only=True):
    min_m: Annotated[float, Meta(ge=0.0, le=500_000.0)]
    max_m: Annotated[float, Meta(ge=0.0, le=500_000.0)]

    def __post_init__(self) -> None:
        if self.max_m < self.min_m:
            raise invalid("max_m", "must not be below `min_m`")


class Direction(Struct, frozen=True, kw_only=True):
    """Where the event was, seen from the observer."""

    bearing: CompassPoint
    distance: DistanceRange | None = None


class Casualties(Struct, frozen=True, kw_only=True):
    civilian_killed: Count = 0
    civilian_injured: Count = 0
    military_killed: Count = 0
    military_injured: Count = 0
    corroborated: bool = False


class AssessedOrigin(Struct, frozen=True, kw_only=True):
    """Where fire came from, as assessed (direction and/or place); not an attribution."""

    position: Position | None = None
    direction: Direction | None = None
    description: ShortText = ""

    def __post_init__(self) -> None:
        if self.position is None and self.direction is None and not self.description:
            raise invalid("description", "is required when no position or direction is given")


class Observation(Struct, frozen=True, kw_only=True):
    observation_id: LocalId
    observer_position: Position
    mode: ObservationMode
    window: TimeWindow
    event_type: EventType
    count: Annotated[int, Meta(ge=1, le=100_000)] = 1
    count_qualifier: CountQualifier = CountQualifier.EXACT
    weapon: WeaponCategory = WeaponCategory.UNKNOWN
    direction: Direction | None = None
    impact_location: Position | None = None
    assessed_origin: AssessedOrigin | None = None
    casualties: Casualties | None = None
    confidence: Confidence
    # A party's claim relayed by the mechanism, as opposed to its own observation.
    allegation: bool = False
    alleged_by: Nation | None = None
    evidence: Annotated[tuple[EvidenceRef, ...], Meta(max_length=50)] = ()
    narrative: Text = ""

    def __post_init__(self) -> None:
        if self.alleged_by is not None and not self.allegation:
            raise invalid("alleged_by", "is only meaningful when `allegation` is set")


class MonitoringReport(BodyBase, frozen=True, kw_only=True, tag="monitoring.report.v1"):
    family: ClassVar[str | None] = "monitoring"

    report_id: EntityId
    report_type: ReportType
    team: Name  # monitoring team or sensor network
    sector: Name
    period: TimeWindow
    observations: Annotated[tuple[Observation, ...], Meta(max_length=500)] = ()
    summary: Text = ""

    def __post_init__(self) -> None:
        if self.report_type is not ReportType.DAILY and not self.observations:
            raise invalid("observations", "must not be empty in a SPOT or FLASH_INCIDENT report")
        require_unique("observations", [o.observation_id for o in self.observations])

    def entity_key(self) -> str:
        return self.report_id


class Severity(StrEnum):
    LOW = "LOW"
    MODERATE = "MODERATE"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class IncidentStatus(StrEnum):
    ASSESSING = "ASSESSING"
    CONFIRMED = "CONFIRMED"
    DISMISSED = "DISMISSED"
    REFERRED = "REFERRED"  # handed to the Special Commission as a case


class ObservationRef(Struct, frozen=True, kw_only=True):
    report_message_id: UUID
    observation_id: LocalId


class Incident(BodyBase, frozen=True, kw_only=True, tag="monitoring.incident.v1"):
    """Observations correlated as one event: same place within a radius, same window."""

    family: ClassVar[str | None] = "monitoring"

    incident_id: EntityId
    status: IncidentStatus = IncidentStatus.ASSESSING
    event_type: EventType
    location: Position
    radius_m: Annotated[float, Meta(ge=0.0, le=50_000.0)]
    window: TimeWindow
    observations: Annotated[tuple[ObservationRef, ...], Meta(min_length=1, max_length=1000)]
    # Independent sources that agree; one team seeing the same blast twice counts once.
    corroboration_count: Annotated[int, Meta(ge=1, le=1000)]
    severity: Severity
    casualties: Casualties | None = None
    referred_case_id: EntityId | None = None
    assessment: Text = ""

    def __post_init__(self) -> None:
        if self.corroboration_count > len(self.observations):
            raise invalid("corroboration_count", "exceeds the number of observations")
        if (self.status is IncidentStatus.REFERRED) != (self.referred_case_id is not None):
            raise invalid("referred_case_id", "is required for, and only for, REFERRED")

    def entity_key(self) -> str:
        return self.incident_id
