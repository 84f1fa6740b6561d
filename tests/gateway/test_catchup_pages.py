"""Paging a lane through the catch-up pool: a read that starts where a consumer stopped reuses
it (position and prefetched records); pages stay contiguous however reads interleave."""

from __future__ import annotations

import pytest
from inbox_support import envelope, router_stand_in

from schemas.precedence import Precedence
from services.gateway.inbox.fetch import CatchUpPool

pytestmark = pytest.mark.integration

P = Precedence


async def test_interleaved_pages_are_contiguous(gateway_settings, gateway_desks) -> None:
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        positions = []
        for _ in range(3):  # three transactions: markers between them
            batch = [envelope(precedence=P.ROUTINE, to=("cell.watch",)) for _ in range(40)]
            positions += await router.deliver("cell.watch", batch)
        other = await router.deliver(
            "cell.watch", [envelope(precedence=P.PRIORITY, to=("cell.watch",))]
        )
    topic, other_topic = positions[0][0], other[0][0]
    offsets = [offset for _, offset in positions]
    pool = CatchUpPool(gateway_settings, size=2)
    try:
        pages: list[int] = []
        start = 0
        while True:
            page = await pool.read(topic, P.ROUTINE, start, 25)
            if not page:
                break
            assert all(r.lane is P.ROUTINE for r in page)
            pages += [r.offset for r in page]
            start = page[-1].offset + 1
            # Another lane's read in between takes a consumer too.
            assert [r.offset for r in await pool.read(other_topic, P.PRIORITY, 0, 5)] == [
                other[0][1]
            ]
        assert pages == offsets
        # A page starting inside the range after all that: exact, from a fresh position.
        again = await pool.read(topic, P.ROUTINE, offsets[30], 3)
        assert [r.offset for r in again] == offsets[30:33]
        assert await pool.read(topic, P.ROUTINE, offsets[-1] + 1, 10) == []
    finally:
        await pool.aclose()
