"""What the monitoring service keeps per incident on ``cell.state.incidents``.

The published ``Incident`` body is the snapshot desks read; ``IncidentRecord`` wraps it with
what the service needs to rebuild itself after a restart: every member observation (who saw
what, where it was placed, when), the combined security label and the breach rules matched.
Key: the incident id. The value is this record as JSON; a restart replays the compacted
topic and the correlator continues exactly where it stopped.

One more key, ``summary:scheduled`` (``SUMMARY_MARK_KEY``), holds a ``SummaryMark``: the end
of the period of the last scheduled summary sent, written in the transaction that sent it,
so a restart never sends it twice. Readers of incidents skip it (``is_incident_key``).
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


class SummaryMark(Struct, frozen=True, kw_only=True):
    period_end: datetime  # UTC end of the last scheduled summary's period


SUMMARY_MARK_KEY = b"summary:scheduled"

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(IncidentRecord)
_MARK_DECODER = msgspec.json.Decoder(SummaryMark)


def is_incident_key(key: bytes | None) -> bool:
    return key != SUMMARY_MARK_KEY


def encode_mark(mark: SummaryMark) -> bytes:
    return _ENCODER.encode(mark)


def decode_mark(data: bytes) -> SummaryMark:
    return _MARK_DECODER.decode(data)


def encode_record(record: IncidentRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> IncidentRecord:
    return _DECODER.decode(data)
