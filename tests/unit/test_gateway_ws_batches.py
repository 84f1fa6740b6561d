"""The stream writer's batches: queue hand-out, frame bytes, and the cursor it advances."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.precedence import LANES_HIGH_FIRST
from services.gateway.inbox.cursor import RECENT_TOKENS, Cursor, CursorCodec
from services.gateway.inbox.sendqueue import SendQueue
from services.gateway.inbox.wsframes import text_frame


async def test_get_many_takes_what_is_queued_highest_first_up_to_the_limit() -> None:
    queue: SendQueue[str] = SendQueue(8, stall_s=1.0)
    for item, priority in (("r1", 0), ("r2", 0), ("f1", 3), ("p1", 1), ("f2", 3)):
        await queue.put(item, priority=priority)
    assert await queue.get_many(3) == ["f1", "f2", "p1"]
    assert queue.depth == 2
    assert await queue.get_many(10) == ["r1", "r2"]
    assert queue.depth == 0
    await queue.put("late")
    assert await queue.get_many(10) == ["late"]


async def test_get_many_makes_room_for_a_waiting_producer() -> None:
    queue: SendQueue[int] = SendQueue(2, stall_s=5.0)
    await queue.put(1)
    await queue.put(2)
    assert await queue.get_many(5) == [1, 2]
    assert queue.room == 2


def _parse(frame: bytes) -> tuple[int, bytes]:
    """RFC 6455 section 5.2, as a client reads a server's frame."""
    first, second = frame[0], frame[1]
    assert second & 0x80 == 0  # a server never masks
    size, at = second & 0x7F, 2
    if size == 126:
        (size,), at = struct.unpack("!H", frame[2:4]), 4
    elif size == 127:
        (size,), at = struct.unpack("!Q", frame[2:10]), 10
    payload = frame[at:]
    assert len(payload) == size
    return first, payload


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1231, 65535, 65536, 70000])
def test_text_frame_is_one_final_uncompressed_text_frame(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    first, parsed = _parse(text_frame(payload))
    assert first == 0x81  # FIN, no RSV (no compression), opcode text
    assert parsed == payload
    # The shortest length encoding, as RFC 6455 requires.
    assert len(text_frame(payload)) - size == (2 if size < 126 else 4 if size < 65536 else 10)


def _reference(cursor: Cursor, lane_index: int, offset: int) -> tuple[int, ...]:
    offsets = list(cursor.offsets)
    offsets[lane_index] = max(offsets[lane_index], offset + 1)
    return tuple(offsets)


@given(
    st.tuples(*[st.integers(0, 50)] * 4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60)), max_size=20),
)
def test_advanced_moves_only_its_lane_and_never_back(start, steps) -> None:
    cursor = Cursor("ukr.mod", start)
    for lane_index, offset in steps:
        expected = _reference(cursor, lane_index, offset)
        cursor = cursor.advanced(LANES_HIGH_FIRST[lane_index], offset)
        assert cursor.offsets == expected
        assert cursor.desk == "ukr.mod"
        assert cursor.offset(LANES_HIGH_FIRST[lane_index]) == expected[lane_index]


def test_a_reissued_cursor_gets_the_same_token_and_the_memo_is_bounded() -> None:
    codec = CursorCodec(b"0123456789abcdef0123456789abcdef")
    fresh = CursorCodec(b"0123456789abcdef0123456789abcdef")
    first = Cursor("ukr.mod", (1, 2, 3, 4))
    token = codec.encode(first)
    assert codec.encode(Cursor("ukr.mod", (1, 2, 3, 4))) == token
    assert fresh.encode(first) == token  # the memo changes nothing a client can see
    assert codec.decode(token, desk="ukr.mod") == first
    for i in range(RECENT_TOKENS + 10):
        other = Cursor("usa.eucom", (i, 0, 0, 0))
        assert codec.decode(codec.encode(other), desk="usa.eucom") == other
    assert len(codec._recent) <= RECENT_TOKENS
    assert codec.encode(first) == token  # evicted and signed again: the same token
