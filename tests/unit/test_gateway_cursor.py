"""The inbox cursor codec and the lane merge: pure logic, no broker."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.precedence import LANES_HIGH_FIRST, Precedence
from services.gateway.inbox.cursor import Cursor, CursorCodec, CursorForeign, CursorInvalid
from services.gateway.inbox.lanes import InboxRecord, cursors_along, merge

SECRET = b"0123456789abcdef0123456789abcdef"
offsets = st.tuples(*(st.integers(0, 2**62) for _ in range(4)))


@given(offsets)
def test_round_trip(values):
    codec = CursorCodec(SECRET)
    cursor = Cursor("ukr.mod", values)
    assert codec.decode(codec.encode(cursor), desk="ukr.mod") == cursor


def test_token_is_url_safe_and_unpadded():
    token = CursorCodec(SECRET).encode(Cursor("usa.eucom", (1, 2, 3, 2**40)))
    assert "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_another_desks_cursor_is_forbidden():
    codec = CursorCodec(SECRET)
    token = codec.encode(Cursor("ukr.mod", (5, 0, 0, 0)))
    with pytest.raises(CursorForeign) as raised:
        codec.decode(token, desk="fra.cell")
    assert raised.value.status == 403


@pytest.mark.parametrize("position", [0, 5, 12, -3, -1])
def test_any_flipped_byte_is_refused(position):
    codec = CursorCodec(SECRET)
    token = codec.encode(Cursor("ukr.mod", (5, 6, 7, 8)))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[position] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(CursorInvalid) as raised:
        codec.decode(forged, desk="ukr.mod")
    assert raised.value.status == 400


def test_a_cursor_signed_with_another_key_is_refused():
    token = CursorCodec(b"another-secret-of-32-bytes......").encode(Cursor("ukr.mod", (1, 1, 1, 1)))
    with pytest.raises(CursorInvalid):
        CursorCodec(SECRET).decode(token, desk="ukr.mod")


@pytest.mark.parametrize("token", ["", "!!!!", "A", "x" * 600, "AAAA"])
def test_garbage_is_refused(token):
    with pytest.raises(CursorInvalid):
        CursorCodec(SECRET).decode(token, desk="ukr.mod")


def test_short_secret_is_a_configuration_mistake():
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec(b"short")


def _records(lane: Precedence, *offsets_: int) -> list[InboxRecord]:
    return [InboxRecord(lane, offset, f"{lane}-{offset}".encode()) for offset in offsets_]


def test_merge_delivers_higher_lanes_first_fifo_within():
    pending = {
        Precedence.ROUTINE: _records(Precedence.ROUTINE, 0, 1),
        Precedence.FLASH: _records(Precedence.FLASH, 3, 2),
        Precedence.PRIORITY: _records(Precedence.PRIORITY, 7),
    }
    taken, after = merge(Cursor.start("d1"), pending, limit=10)
    assert [(r.lane, r.offset) for r in taken] == [
        (Precedence.FLASH, 2),
        (Precedence.FLASH, 3),
        (Precedence.PRIORITY, 7),
        (Precedence.ROUTINE, 0),
        (Precedence.ROUTINE, 1),
    ]
    assert after.offsets == (4, 0, 8, 2)


def test_merge_respects_limit_and_cursor():
    pending = {
        Precedence.FLASH: _records(Precedence.FLASH, 0, 1, 2),
        Precedence.ROUTINE: _records(Precedence.ROUTINE, 0, 1),
    }
    cursor = Cursor("d1", (1, 0, 0, 0))
    taken, after = merge(cursor, pending, limit=2)
    assert [(r.lane, r.offset) for r in taken] == [(Precedence.FLASH, 1), (Precedence.FLASH, 2)]
    assert after.offsets == (3, 0, 0, 0)
    rest, final = merge(after, pending, limit=2)
    assert [(r.lane, r.offset) for r in rest] == [(Precedence.ROUTINE, 0), (Precedence.ROUTINE, 1)]
    assert final.offsets == (3, 0, 0, 2)


@given(
    st.lists(st.tuples(st.sampled_from(LANES_HIGH_FIRST), st.integers(0, 50)), unique=True),
    st.integers(1, 7),
)
def test_paging_delivers_everything_exactly_once(items, limit):
    pending: dict[Precedence, list[InboxRecord]] = {}
    for lane, offset in items:
        pending.setdefault(lane, []).append(InboxRecord(lane, offset, b""))
    cursor = Cursor.start("d1")
    seen: list[tuple[Precedence, int]] = []
    while True:
        taken, cursor = merge(cursor, pending, limit)
        if not taken:
            break
        assert len(taken) <= limit
        seen += [(r.lane, r.offset) for r in taken]
    assert sorted(seen, key=lambda x: (-x[0].rank, x[1])) == sorted(
        items, key=lambda x: (-x[0].rank, x[1])
    )
    assert len(seen) == len(set(seen))


def test_cursors_along_gives_a_resume_point_per_record():
    records = _records(Precedence.FLASH, 4) + _records(Precedence.ROUTINE, 9)
    points = cursors_along(Cursor.start("d1"), records)
    assert [p.offsets for p in points] == [(5, 0, 0, 0), (5, 0, 0, 10)]
