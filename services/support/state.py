"""What the support service keeps on ``cell.state.requests``.

Two record types share the compacted topic: one ``RequestRecord`` per request (key: request
id) and one ``AlertRecord`` per attack alert (key: ``!alert/<alert id>``; ``!`` cannot start
an entity id, so the two never collide). ``RequestRecord.status`` is the published
``RequestStatus``; the record adds who filed, the label, the offers and consignments behind
the line totals, and the history of applied message ids (the idempotency log).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import msgspec
from msgspec import Struct

from schemas.common import TrafficType
from schemas.kinds.alert import AlertStatus
from schemas.kinds.support import (
    Commitment,
    ConsignmentLine,
    ConsignmentStatus,
    RequestState,
    RequestStatus,
    SupportRequest,
)
from schemas.labels import SecurityLabel
from schemas.precedence import Precedence

ALERT_KEY_PREFIX = "!alert/"


class OfferState(StrEnum):
    OPEN = "OPEN"  # pledged, counts towards matching
    COMMITTED = "COMMITTED"  # taken by the cell's COMMIT
    WITHDRAWN = "WITHDRAWN"  # revised by its donor to expire at once
    LAPSED = "LAPSED"  # valid_until passed before commitment
    NOT_TAKEN = "NOT_TAKEN"  # open when the request was committed without it


LIVE_OFFERS = frozenset({OfferState.OPEN, OfferState.COMMITTED})


class OfferLineRecord(Struct, frozen=True, kw_only=True):
    line_no: int
    offered: int
    committed: int = 0
    available_by: date


class OfferRecord(Struct, frozen=True, kw_only=True):
    offer_id: str
    donor: str  # desk id of the originator
    commitment: Commitment
    lines: tuple[OfferLineRecord, ...]
    valid_until: datetime | None
    state: OfferState
    revision: int = 1


class ConsignmentRecord(Struct, frozen=True, kw_only=True):
    consignment_id: str
    offer_id: str | None  # None for a depot draw
    shipper: str  # donor desk, or the desk that recorded the draw
    status: ConsignmentStatus
    lines: tuple[ConsignmentLine, ...]
    received: tuple[ConsignmentLine, ...] = ()
    confirmed: bool = False


class HistoryEntry(Struct, frozen=True, kw_only=True):
    message_id: UUID
    action: str  # command tag, FILE, OFFER, CONSIGNMENT, or a service step
    actor: str
    at: datetime
    from_state: RequestState | None
    to_state: RequestState
    version: int
    note: str = ""


class RequestRecord(Struct, frozen=True, kw_only=True, tag="request"):
    status: RequestStatus
    requester: str
    requester_nation: str
    label: SecurityLabel
    traffic_type: TrafficType
    precedence: Precedence
    filed_message_id: UUID
    filed_at: datetime
    history: tuple[HistoryEntry, ...]
    offers: tuple[OfferRecord, ...] = ()
    consignments: tuple[ConsignmentRecord, ...] = ()
    solicited: tuple[str, ...] = ()
    awaiting_alert: UUID | None = None  # DEPOT_DRAW citing an alert not seen yet

    @property
    def request_id(self) -> str:
        return self.status.request_id

    @property
    def state(self) -> RequestState:
        return self.status.state

    @property
    def request(self) -> SupportRequest:
        if self.status.request is None:
            raise ValueError(f"request {self.request_id} has no filed body")
        return self.status.request

    def applied(self, message_id: UUID) -> bool:
        return any(entry.message_id == message_id for entry in self.history)

    def offer(self, offer_id: str) -> OfferRecord | None:
        return next((o for o in self.offers if o.offer_id == offer_id), None)

    def consignment(self, consignment_id: str) -> ConsignmentRecord | None:
        return next((c for c in self.consignments if c.consignment_id == consignment_id), None)


class AlertRecord(Struct, frozen=True, kw_only=True, tag="alert"):
    alert_id: str
    message_ids: tuple[UUID, ...]  # every message of this alert (raise, updates, stand-down)
    status: AlertStatus
    depot_draw_authorised: bool
    originator: str
    updated_at: datetime

    @property
    def opens_fast_path(self) -> bool:
        return self.status is not AlertStatus.STAND_DOWN and self.depot_draw_authorised


StateRecord = RequestRecord | AlertRecord
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(StateRecord)


def encode_record(record: StateRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> StateRecord:
    return _DECODER.decode(data)


def state_key(record: StateRecord) -> bytes:
    if isinstance(record, AlertRecord):
        return f"{ALERT_KEY_PREFIX}{record.alert_id}".encode()
    return record.request_id.encode()
