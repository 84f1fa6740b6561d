"""The releasability property end to end: 300 random messages through the router and broker;
every inbox holds exactly the messages releasable to it, one copy each."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from router_cell import Cell
from router_helpers import REGISTRY, label, read, read_to_end, submit
from router_helpers import envelope as make_envelope
from test_property import permitted, reached

from schemas.labels import Classification
from schemas.precedence import Precedence
from schemas.topics import AUDIT

pytestmark = pytest.mark.integration

MESSAGES = 300
NATIONS = ("USA", "UKR", "GBR", "FRA", "DEU", "POL")
ADDRESSES = [d.id for d in REGISTRY.desks] + [
    "ALL",
    "COALITION",
    "ROLE:WATCH",
    "NATION:FRA",
    "NATION:USA",
    "xx.unknown",
]


async def test_random_traffic_never_leaks(cell: Cell) -> None:
    rng = random.Random(20260314)
    senders = [d for d in REGISTRY.desks if not d.exercise_only]
    stream = []
    for _ in range(MESSAGES):
        chosen = rng.sample(ADDRESSES, rng.randint(1, 4))
        split = rng.randint(1, len(chosen))
        stream.append(
            make_envelope(
                rng.choice(senders).id,
                chosen[:split],
                info_to=chosen[split:],
                precedence=rng.choice(
                    [Precedence.IMMEDIATE, Precedence.PRIORITY, Precedence.ROUTINE]
                ),
                copy_precedence=Precedence.ROUTINE,
                label=label(
                    *rng.sample(NATIONS, rng.randint(1, 4)),
                    classification=rng.choice(
                        [Classification.NATO_RESTRICTED, Classification.NATO_SECRET]
                    ),
                ),
            )
        )
    cell.start_router()
    await submit(cell.producer, cell.prefix, *stream)
    ids = {m.message_id for m in stream}
    await read(
        cell.bootstrap,
        [cell.prefix + AUDIT],
        until=lambda rs: len({r.key for r in rs}) >= MESSAGES,
        timeout_s=120,
    )
    by_id = {d.id: d for d in REGISTRY.desks}
    for desk in REGISTRY.desks:
        records = await read_to_end(cell.bootstrap, cell.inboxes(desk.id))
        got = Counter(
            r.key.decode() for r in records if r.key and r.key.decode() in {str(i) for i in ids}
        )
        expected = {
            str(m.message_id)
            for m in stream
            if desk.id in reached(REGISTRY, m) and permitted(by_id[desk.id], m)
        }
        assert set(got) == expected, desk.id
        assert set(got.values()) <= {1}, desk.id
