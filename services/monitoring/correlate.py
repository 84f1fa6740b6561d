"""Correlation of observations into incidents, in memory, rebuilt from the state topic.

An observation is placed on the map (impact location; else observer position + bearing +
mid-range distance; else the observer's own position) and matched against the incidents in
the neighbouring space-time cells only (``grid``): same traffic type and event class, windows
no further apart than ``window_s``, place within ``radius_m`` of the incident's centre. The
nearest match wins (ties by incident id, so replays decide the same way); no match seeds a new
incident named after the observation. An observation already seen (same report message and
observation id, or same desk, report id and observation id) is a duplicate; one nearly
identical to a member from the same observer is a near-duplicate. Neither changes anything.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from msgspec import Struct, structs

from schemas.common import Position, TimeWindow
from schemas.kinds.monitoring import Incident, IncidentStatus, Observation, ObservationRef
from schemas.labels import SecurityLabel
from services.monitoring import ids
from services.monitoring.geo import (
    COMPASS_HALF_SECTOR_DEG,
    GeoConfig,
    compass_degrees,
    destination,
    distance_m,
)
from services.monitoring.grid import Grid
from services.monitoring.labelling import combine
from services.monitoring.records import IncidentRecord, Member
from services.monitoring.rules import assess, event_class

MAX_MEMBERS = 1000  # Incident.observations bound; a fuller incident takes no more members
_MIN_UNCERTAINTY_M = 25.0


class CorrelationConfig(Struct, frozen=True, kw_only=True):
    """Built from ``MonitoringSettings`` (``worker.service_config``), where the defaults live."""

    radius_m: float
    window_s: float
    near_duplicate_m: float
    near_duplicate_s: float
    corroboration_threshold: int
    unlocated_uncertainty_m: float = 5_000.0  # only the observer's position is known
    fallback_nation: str = "FRA"  # releasability when sources share no nation


class Outcome(StrEnum):
    NEW = "new"
    JOINED = "joined"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"


class Placement(Struct, frozen=True, kw_only=True):
    outcome: Outcome
    incident_id: str
    record: IncidentRecord | None = None  # the changed incident (NEW / JOINED)
    case_opened: bool = False  # a breach rule matched for the first time: open its case


def locate(obs: Observation, unlocated_uncertainty_m: float) -> tuple[float, float, float]:
    """(lat, lon, uncertainty in metres) of the event an observation describes."""
    if obs.impact_location is not None:
        at = obs.impact_location
        return at.lat, at.lon, max(at.precision_m or _MIN_UNCERTAINTY_M, _MIN_UNCERTAINTY_M)
    pos = obs.observer_position
    direction = obs.direction
    if direction is not None and direction.distance is not None:
        rng = direction.distance
        mid = (rng.min_m + rng.max_m) / 2
        lat, lon = destination(pos.lat, pos.lon, compass_degrees(direction.bearing), mid)
        lateral = mid * math.sin(math.radians(COMPASS_HALF_SECTOR_DEG))
        along = (rng.max_m - rng.min_m) / 2
        return lat, lon, max(math.hypot(lateral, along), _MIN_UNCERTAINTY_M)
    return pos.lat, pos.lon, unlocated_uncertainty_m


def origin_zone(obs: Observation, geo: GeoConfig) -> str | None:
    """The withdrawal zone the assessed origin of fire lies in, if it can be placed."""
    origin = obs.assessed_origin
    if origin is None:
        return None
    if origin.position is not None:
        return geo.withdrawal_zone_at(origin.position.lat, origin.position.lon)
    direction = origin.direction
    if direction is not None and direction.distance is not None:
        pos = obs.observer_position
        mid = (direction.distance.min_m + direction.distance.max_m) / 2
        lat, lon = destination(pos.lat, pos.lon, compass_degrees(direction.bearing), mid)
        return geo.withdrawal_zone_at(lat, lon)
    return None


class _Entry(Struct, kw_only=True):
    record: IncidentRecord
    labels: list[SecurityLabel]
    # Near-duplicates matched here: remembered as seen, forgotten with the incident.
    near: list[Member] = []


class Correlator:
    def __init__(self, config: CorrelationConfig, geo: GeoConfig) -> None:
        self.config, self.geo = config, geo
        self._grid = Grid(config.radius_m, config.window_s)
        self._entries: dict[str, _Entry] = {}
        self._refs: set[tuple[str, str]] = set()
        self._reports: set[tuple[str, str, str]] = set()

    @property
    def incidents(self) -> dict[str, IncidentRecord]:
        return {key: entry.record for key, entry in self._entries.items()}

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, record: IncidentRecord, *, cutoff: datetime | None = None) -> None:
        """Apply a record replayed from the state topic (the latest one per incident wins).

        A record whose window ended before ``cutoff`` stays on the topic but out of memory.
        """
        if cutoff is not None and record.incident.window.end < cutoff:
            return
        self._entries[record.incident_id] = _Entry(record=record, labels=[record.label])
        for m in record.members:
            self._remember(m)
        self._index(record)

    def trim(self, cutoff: datetime) -> int:
        """Forget incidents whose window ended before ``cutoff`` (index, grid, seen ids).

        The caller refuses observations that could have matched them, so forgetting changes
        no decision; the compacted topic keeps every incident.
        """
        old = [key for key, e in self._entries.items() if e.record.incident.window.end < cutoff]
        for key in old:
            entry = self._entries.pop(key)
            self._grid.remove(key)
            for m in (*entry.record.members, *entry.near):
                self._refs.discard((str(m.report_message_id), m.observation_id))
                self._reports.discard((m.originator, m.report_id, m.observation_id))
        return len(old)

    @property
    def seen_count(self) -> int:
        """Observation ids remembered for de-duplication (bounded by ``trim``)."""
        return len(self._refs) + len(self._reports)

    def seen(self, member: Member) -> bool:
        return (str(member.report_message_id), member.observation_id) in self._refs or (
            member.originator,
            member.report_id,
            member.observation_id,
        ) in self._reports

    def _remember(self, m: Member) -> None:
        self._refs.add((str(m.report_message_id), m.observation_id))
        self._reports.add((m.originator, m.report_id, m.observation_id))

    def _index(self, record: IncidentRecord) -> None:
        inc = record.incident
        self._grid.add(
            record.incident_id, inc.location.lat, inc.location.lon, inc.window.start, inc.window.end
        )

    def place(self, member: Member, label: SecurityLabel) -> Placement:
        if self.seen(member):
            return Placement(outcome=Outcome.DUPLICATE, incident_id="")
        best: tuple[float, str] | None = None
        for incident_id in self._grid.near(member.lat, member.lon, member.start, member.end):
            record = self._entries[incident_id].record
            if self._near_duplicate(member, record.members):
                self._remember(member)
                self._entries[incident_id].near.append(member)
                return Placement(outcome=Outcome.NEAR_DUPLICATE, incident_id=incident_id)
            distance = self._match(member, record)
            if distance is not None and (best is None or (distance, incident_id) < best):
                best = (distance, incident_id)
        self._remember(member)
        if best is None:
            incident_id = ids.incident_id(member.report_message_id, member.observation_id)
            entry = _Entry(
                record=self._build(incident_id, (member,), [label], None), labels=[label]
            )
            self._entries[incident_id] = entry
            outcome = Outcome.NEW
            prior_referred = False
        else:
            incident_id = best[1]
            entry = self._entries[incident_id]
            prior = entry.record
            prior_referred = prior.incident.status is IncidentStatus.REFERRED
            if label not in entry.labels:
                entry.labels.append(label)
            entry.record = self._build(incident_id, (*prior.members, member), entry.labels, prior)
            outcome = Outcome.JOINED
        self._index(entry.record)
        opened = entry.record.incident.status is IncidentStatus.REFERRED and not prior_referred
        return Placement(
            outcome=outcome, incident_id=incident_id, record=entry.record, case_opened=opened
        )

    def _near_duplicate(self, member: Member, members: Iterable[Member]) -> bool:
        cfg = self.config
        for other in members:
            if (
                other.observer == member.observer
                and other.weapon is member.weapon
                and event_class(other.event_type) == event_class(member.event_type)
                and abs((other.midpoint - member.midpoint).total_seconds()) <= cfg.near_duplicate_s
                and distance_m(other.lat, other.lon, member.lat, member.lon) <= cfg.near_duplicate_m
            ):
                return True
        return False

    def _match(self, member: Member, record: IncidentRecord) -> float | None:
        inc = record.incident
        if (
            record.traffic_type is not member.traffic_type
            or len(record.members) >= MAX_MEMBERS
            or event_class(inc.event_type) != event_class(member.event_type)
        ):
            return None
        gap = max(
            (member.start - inc.window.end).total_seconds(),
            (inc.window.start - member.end).total_seconds(),
            0.0,
        )
        if gap > self.config.window_s:
            return None
        distance = distance_m(inc.location.lat, inc.location.lon, member.lat, member.lon)
        return distance if distance <= self.config.radius_m else None

    def _build(
        self,
        incident_id: str,
        members: tuple[Member, ...],
        labels: list[SecurityLabel],
        prior: IncidentRecord | None,
    ) -> IncidentRecord:
        weights = [1.0 / max(m.uncertainty_m, _MIN_UNCERTAINTY_M) ** 2 for m in members]
        total = sum(weights)
        lat = sum(w * m.lat for w, m in zip(weights, members, strict=True)) / total
        lon = sum(w * m.lon for w, m in zip(weights, members, strict=True)) / total
        spread = max(distance_m(lat, lon, m.lat, m.lon) for m in members)
        zone = self.geo.withdrawal_zone_at(lat, lon)
        verdict = assess(
            members, zone=zone, corroboration_threshold=self.config.corroboration_threshold
        )
        referred = prior is not None and prior.incident.status is IncidentStatus.REFERRED
        if referred or verdict.breach_rules:
            status, case = IncidentStatus.REFERRED, ids.case_id(incident_id)
        else:
            own = {m.observer for m in members if not m.allegation}
            status = IncidentStatus.CONFIRMED if len(own) > 1 else IncidentStatus.ASSESSING
            case = None
        event = Counter(m.event_type for m in members).most_common(1)[0][0]
        incident = Incident(
            incident_id=incident_id,
            status=status,
            event_type=event,
            location=Position(
                lat=round(lat, 6), lon=round(lon, 6), precision_m=min(total**-0.5, 100_000.0)
            ),
            radius_m=min(spread, 50_000.0),
            window=TimeWindow(
                start=min(m.start for m in members),
                end=max(m.end for m in members),
                original_tz=members[0].source_zone,
            ),
            observations=tuple(
                ObservationRef(
                    report_message_id=m.report_message_id, observation_id=m.observation_id
                )
                for m in members
            ),
            corroboration_count=verdict.corroboration,
            severity=verdict.severity,
            casualties=verdict.casualties,
            referred_case_id=case,
            assessment=_assessment(
                verdict.corroboration, verdict.weapon.value, zone, verdict.breach_rules
            ),
        )
        rules = tuple(sorted({*(prior.breach_rules if prior else ()), *verdict.breach_rules}))
        return IncidentRecord(
            incident=incident,
            traffic_type=members[0].traffic_type,
            label=combine(labels, fallback_nation=self.config.fallback_nation),
            members=members,
            breach_rules=rules,
            withdrawal_zone=zone,
        )


def _assessment(corroboration: int, weapon: str, zone: str | None, rules: Iterable[str]) -> str:
    parts = [f"{corroboration} independent observer(s)", f"heaviest weapon {weapon}"]
    if zone is not None:
        parts.append(f"inside withdrawal zone {zone}")
    matched = list(rules)
    if matched:
        parts.append("breach rules: " + ", ".join(matched))
    return "; ".join(parts)


def with_status(record: IncidentRecord, status: IncidentStatus) -> IncidentRecord:
    """A copy with another status (used by tests and operators' tools)."""
    return structs.replace(record, incident=structs.replace(record.incident, status=status))
