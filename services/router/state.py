"""Router state on the compacted ``cell.state.router`` topic, and its in-memory view.

Keys and records (value = JSON of a tagged struct; a tombstone deletes the key):

- ``dedup:<originator>:<message_id>`` → ``Seen`` in the state partition numbered like the
  submit partition the message came from (submit topics key by originator, so a desk's
  retries land there again);
- ``ack:<message_id>`` → ``OpenAck`` and ``acked:<message_id>:<desk>`` → ``Acked``, in the
  partition ``ack_partition(message_id)``: acknowledgements arrive on other desks' submit
  partitions, so the message id (not the originator) decides where its ack state lives;
- ``minimize:<minimize_id>`` → ``MinimizeInForce`` (global: every instance applies it).

Every instance replays the whole topic and tails it (``reader``), so it sees what other
instances commit; each instance only *acts* on the partitions it owns.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import datetime, timedelta

import msgspec
from msgspec import Struct

from schemas.common import TrafficType
from schemas.kinds.notifications import AckResponse
from schemas.labels import SecurityLabel
from schemas.precedence import Precedence


class Seen(Struct, frozen=True, kw_only=True, tag="seen"):
    at: datetime


class OpenAck(Struct, frozen=True, kw_only=True, tag="open_ack"):
    message_id: uuid.UUID
    originator: str
    label: SecurityLabel
    traffic_type: TrafficType
    precedence: Precedence
    ack_by: datetime
    awaiting: tuple[str, ...]  # action addressees the message was delivered to
    escalated: bool = False


class Acked(Struct, frozen=True, kw_only=True, tag="acked"):
    response: AckResponse
    at: datetime


class MinimizeInForce(Struct, frozen=True, kw_only=True, tag="minimize"):
    minimize_id: str
    scope: tuple[str, ...]  # addresses, expanded against the registry when applied
    threshold: Precedence
    imposed_by: str


StateValue = Seen | OpenAck | Acked | MinimizeInForce
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(StateValue)


def encode_state(value: StateValue) -> bytes:
    return _ENCODER.encode(value)


def dedup_key(originator: str, message_id: uuid.UUID) -> str:
    return f"dedup:{originator}:{message_id}"


def ack_key(message_id: uuid.UUID) -> str:
    return f"ack:{message_id}"


def acked_key(message_id: uuid.UUID, desk: str) -> str:
    return f"acked:{message_id}:{desk}"


def minimize_key(minimize_id: str) -> str:
    return f"minimize:{minimize_id}"


def ack_partition(message_id: uuid.UUID, partitions: int) -> int:
    return zlib.crc32(message_id.bytes) % partitions


def minimize_partition(minimize_id: str, partitions: int) -> int:
    return zlib.crc32(minimize_id.encode()) % partitions


class StateWrite(Struct, frozen=True):
    partition: int
    key: str
    value: bytes | None  # None: tombstone


class RouterState:
    """What the router knows: dedup window, open acknowledgements, MINIMIZE in force.

    ``apply`` is the only mutator; it is idempotent (replaying a record twice is harmless),
    so the reader's replay and the worker's apply-after-commit can overlap.
    """

    def __init__(self, dedup_window: timedelta) -> None:
        self.dedup_window = dedup_window
        self.seen: dict[tuple[str, str], tuple[datetime, int]] = {}
        self.open_acks: dict[uuid.UUID, tuple[OpenAck, int]] = {}
        self.acked: dict[uuid.UUID, dict[str, Acked]] = {}
        self.minimize: dict[str, MinimizeInForce] = {}

    def apply(self, partition: int, key: str, value: bytes | None) -> None:
        kind, _, rest = key.partition(":")
        record = None if value is None else _DECODER.decode(value)
        if kind == "dedup":
            self._apply_seen(partition, rest, record)
        elif kind == "ack":
            self._apply_open(partition, uuid.UUID(rest), record)
        elif kind == "acked":
            message_text, _, desk = rest.partition(":")
            self._apply_acked(uuid.UUID(message_text), desk, record)
        elif kind == "minimize":
            if isinstance(record, MinimizeInForce):
                self.minimize[rest] = record
            else:
                self.minimize.pop(rest, None)

    def _apply_open(self, partition: int, message_id: uuid.UUID, record: StateValue | None) -> None:
        if isinstance(record, OpenAck):
            self.open_acks[message_id] = (record, partition)
        else:
            self.open_acks.pop(message_id, None)
            self.acked.pop(message_id, None)

    def _apply_acked(self, message_id: uuid.UUID, desk: str, record: StateValue | None) -> None:
        if isinstance(record, Acked):
            self.acked.setdefault(message_id, {})[desk] = record
        else:
            self.acked.get(message_id, {}).pop(desk, None)

    def _apply_seen(self, partition: int, rest: str, record: StateValue | None) -> None:
        originator, _, message_text = rest.rpartition(":")
        if isinstance(record, Seen):
            self.seen[originator, message_text] = (record.at, partition)
        else:
            self.seen.pop((originator, message_text), None)

    def is_duplicate(self, originator: str, message_id: uuid.UUID) -> bool:
        return (originator, str(message_id)) in self.seen

    def expired_dedup(self, now: datetime, partitions: set[int], limit: int) -> list[StateWrite]:
        """Tombstones for dedup entries past the window in ``partitions`` (bounded)."""
        horizon = now - self.dedup_window
        writes: list[StateWrite] = []
        for (originator, message_text), (at, partition) in self.seen.items():
            if at < horizon and partition in partitions:
                key = f"dedup:{originator}:{message_text}"
                writes.append(StateWrite(partition, key, None))
                if len(writes) >= limit:
                    break
        return writes
