"""What the commission service keeps per case on ``cell.state.cases`` (key: case id).

``case`` is the published ``BreachCase`` snapshot; the record adds the history of accepted
actions (which is also the idempotency log: a message id in it is never applied twice), each
member's latest recorded position, the case's label and the overdue alerts already raised.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import Struct

from schemas.common import TrafficType
from schemas.kinds.commission import BreachCase, CaseState
from schemas.labels import SecurityLabel


class HistoryEntry(Struct, frozen=True, kw_only=True):
    message_id: UUID
    action: str
    actor: str
    at: datetime
    from_state: CaseState | None
    to_state: CaseState
    version: int
    rationale: str = ""


class MemberPosition(Struct, frozen=True, kw_only=True):
    """A member's stance as last recorded: the action taken or a dissent, with its words."""

    member: str
    position: str  # action tag, or DISSENT
    statement: str
    at: datetime
    version: int


class CaseRecord(Struct, frozen=True, kw_only=True):
    case: BreachCase
    label: SecurityLabel
    traffic_type: TrafficType
    history: tuple[HistoryEntry, ...]
    positions: tuple[MemberPosition, ...] = ()
    overdue_alerted: tuple[str, ...] = ()  # remedy ids already escalated

    @property
    def case_id(self) -> str:
        return self.case.case_id

    def applied(self, message_id: UUID) -> bool:
        return any(entry.message_id == message_id for entry in self.history)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(CaseRecord)


def encode_record(record: CaseRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> CaseRecord:
    return _DECODER.decode(data)
