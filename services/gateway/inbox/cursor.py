"""The inbox cursor: where a desk is in each of its four inbox lanes, signed by the gateway.

Opaque to clients. Layout before base64url (no padding): one version byte, a msgpack array
``[desk id, [next offset per lane, FLASH first]]``, then a 16-byte HMAC-SHA256 tag (128 bits,
the truncation RFC 2104 allows) over both. The key is derived from the gateway's cursor
secret with a purpose label, so the same secret can sign other things without confusion.

The desk id inside the cursor is what stops one desk from resuming another's inbox: a valid
cursor naming a different desk is refused with 403; anything that fails to verify is 400.
Offsets are Kafka "next offset to read" positions (``record.offset + 1`` after a record).
No cursor means "from the start of the retained inbox": every offset 0, which the reader
clamps to the log start of each lane.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import ClassVar

import msgspec

from schemas.precedence import LANES_HIGH_FIRST, Precedence
from services.runtime.errors import CellError, NotAuthorised

_VERSION = 1
_TAG_BYTES = 16
_PURPOSE = b"cell.gateway.inbox-cursor.v1"
_MAX_TOKEN_CHARS = 512  # a cursor is ~60-130 characters; refuse anything far bigger unread
_LANES = len(LANES_HIGH_FIRST)
RECENT_TOKENS = 1024  # tokens kept for reuse (~0.3 MB at most)


class CursorInvalid(CellError):
    """Not a cursor this gateway issued (malformed or tampered)."""

    code = "invalid_cursor"
    status = 400


class CursorForeign(NotAuthorised):
    """A genuine cursor, but of another desk's inbox."""

    code = "cursor_not_yours"


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """Next offset to read in each lane of one desk's inbox."""

    desk: str
    offsets: tuple[int, int, int, int]  # in LANES_HIGH_FIRST order

    LANES: ClassVar[tuple[Precedence, ...]] = LANES_HIGH_FIRST

    @classmethod
    def start(cls, desk: str) -> Cursor:
        return cls(desk, (0, 0, 0, 0))

    def offset(self, lane: Precedence) -> int:
        return self.offsets[_INDEX[lane]]

    def advanced(self, lane: Precedence, record_offset: int) -> Cursor:
        """The cursor after delivering the record at ``record_offset`` of ``lane``."""
        # Called per frame of every stream: no list, no search of the lane order.
        index = _INDEX[lane]
        offsets = self.offsets
        if record_offset < offsets[index]:
            return self
        a, b, c, d = offsets
        nxt = record_offset + 1
        if index == 0:
            return Cursor(self.desk, (nxt, b, c, d))
        if index == 1:
            return Cursor(self.desk, (a, nxt, c, d))
        if index == 2:  # noqa: PLR2004 - the lane's position
            return Cursor(self.desk, (a, b, nxt, d))
        return Cursor(self.desk, (a, b, c, nxt))


_INDEX: dict[Precedence, int] = {lane: i for i, lane in enumerate(LANES_HIGH_FIRST)}


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(Cursor)


class CursorCodec:
    """Signs and verifies cursors with one key; build once per app."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:  # noqa: PLR2004 - below 128 bits the tag is the weak link
            raise ValueError("the cursor secret must be at least 16 bytes")
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
        # Recently issued tokens. A token is a pure function of the cursor, and the streams
        # of one desk write the same records from the same cursor, one right after another:
        # each frame's token is signed once for all of them. Bounded (oldest out first).
        self._recent: dict[Cursor, str] = {}

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, cursor: Cursor) -> str:
        token = self._recent.get(cursor)
        if token is None:
            payload = bytes([_VERSION]) + _ENCODER.encode(cursor)
            signed = base64.urlsafe_b64encode(payload + self._tag(payload))
            token = signed.rstrip(b"=").decode("ascii")
            if len(self._recent) >= RECENT_TOKENS:
                del self._recent[next(iter(self._recent))]
            self._recent[cursor] = token
        return token

    def decode(self, token: str, *, desk: str) -> Cursor:
        """The cursor ``token`` carries, checked to belong to ``desk``.

        Raises ``CursorInvalid`` (400) unless the token is intact and ours, and
        ``CursorForeign`` (403) when it is a valid cursor of another desk.
        """
        if len(token) > _MAX_TOKEN_CHARS:
            raise CursorInvalid("the cursor is not one this gateway issued", field_path="cursor")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise CursorInvalid("the cursor is not valid base64url", field_path="cursor") from None
        payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if len(raw) <= _TAG_BYTES + 1 or not hmac.compare_digest(tag, self._tag(payload)):
            raise CursorInvalid("the cursor is not one this gateway issued", field_path="cursor")
        if payload[0] != _VERSION:
            raise CursorInvalid("the cursor version is not supported", field_path="cursor")
        try:
            cursor = _DECODER.decode(payload[1:])
        except msgspec.DecodeError:
            # Signed by us yet unreadable: only a key reused across formats gets here.
            raise CursorInvalid("the cursor is malformed", field_path="cursor") from None
        if len(cursor.offsets) != _LANES or any(offset < 0 for offset in cursor.offsets):
            raise CursorInvalid("the cursor is malformed", field_path="cursor")
        if cursor.desk != desk:
            raise CursorForeign("the cursor belongs to another desk's inbox", field_path="cursor")
        return cursor
