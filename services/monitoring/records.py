"""What the monitoring service keeps per incident on ``cell.state.incidents``.

The published ``Incident`` body is the snapshot desks read; ``IncidentRecord`` wraps it with
what the service needs to rebuild itself after a restart: every member observation (who saw
what, where it was placed, when), the combined security label and the breach rules matched.
Key: the incident id. The value is this record as JSON; a restart replays the compacted
topic and the correlator continues exactly where it stopped.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import Struct

from schemas.common import TrafficType
from schemas.kinds.monitoring import Casualties, EventType, Incident, WeaponCategory
from schemas.labels import SecurityLabel


class Member(Struct, frozen=True, kw_only=True):
    """One accepted observation, placed on the map (impact, bearing + distance, observer)."""

    report_message_id: UUID
    observation_id: str
    report_id: str
    originator: str  # desk that filed the report
    observer: str  # "<desk>/<team>": one team seeing the same blast twice counts once
    traffic_type: TrafficType
    event_type: EventType
    weapon: WeaponCategory
    lat: float
    lon: float
    uncertainty_m: float
    start: datetime  # UTC
    end: datetime  # UTC
    source_zone: str
    casualties: Casualties | None = None
    allegation: bool = False
    origin_zone: str | None = None  # withdrawal zone the assessed origin lies in

    @property
    def midpoint(self) -> datetime:
        return self.start + (self.end - self.start) / 2


class IncidentRecord(Struct, frozen=True, kw_only=True):
    incident: Incident
    traffic_type: TrafficType
    label: SecurityLabel
    members: tuple[Member, ...]
    breach_rules: tuple[str, ...] = ()
    withdrawal_zone: str | None = None

    @property
    def incident_id(self) -> str:
        return self.incident.incident_id


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(IncidentRecord)


def encode_record(record: IncidentRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> IncidentRecord:
    return _DECODER.decode(data)
