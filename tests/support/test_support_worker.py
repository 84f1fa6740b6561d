"""The support worker against the real broker: lifecycle, fast path, poison, restart, replay."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kafka_helpers import drained, envelopes, feed, new_prefix, provision_cell, read_until  # type: ignore[import-not-found]  # on sys.path via conftest
from test_support_lifecycle import (  # type: ignore[import-not-found]  # via conftest
    FRA,
    GBR,
    REGISTRY,
    REQ,
    REQUESTER,
    WATCH,
    action,
    alert,
    env,
    offer,
    request,
)

from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.kinds.support import RequestKind, RequestState, RequestStatus
from schemas.kinds.support_actions import CommitOffers, StartSourcing, Validate
from schemas.precedence import LANES_HIGH_FIRST, Precedence
from schemas.topics import DEADLETTER, domain_topic, state_topic, submit_topic
from services.support.settings import SupportSettings
from services.support.state import RequestRecord, decode_record
from services.support.worker import run

pytestmark = pytest.mark.integration
DRAW = "req-draw-0001"


def latest(records: list[Any]) -> dict[bytes, RequestRecord]:
    out: dict[bytes, RequestRecord] = {}
    for record in records:
        value = decode_record(record.value)
        if isinstance(value, RequestRecord):
            out[record.key] = value
    return out


def settled(records: list[Any]) -> bool:
    states = {k: r.state for k, r in latest(records).items()}
    return states.get(REQ.encode()) is RequestState.COMMITTED and (
        states.get(DRAW.encode()) is RequestState.AUTHORISED
    )


async def test_request_lifecycle_fast_path_poison_and_restart(kafka_bootstrap: str) -> None:
    prefix = new_prefix()
    await provision_cell(kafka_bootstrap, prefix)
    settings = SupportSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    domain = domain_topic("support", prefix=prefix)
    requests = state_topic("requests", prefix=prefix)
    submits = [submit_topic(lane, prefix=prefix) for lane in LANES_HIGH_FIRST]
    group = f"{prefix}{settings.group_id}"
    raised = alert()
    steps = [
        env(REQUESTER, request()),
        action(WATCH, Validate()),
        action(WATCH, StartSourcing(solicit=("COALITION",))),
        offer("cell.mnf-hq", "off-hq-1", {1: 5}),  # not a donor
        offer(GBR, "off-gbr-1", {1: 60}),
        offer(FRA, "off-fra-1", {1: 60, 2: 10}),
        action(WATCH, CommitOffers(offer_ids=("off-gbr-1", "off-fra-1"))),
        raised,
        env(
            "ukr.gs",
            request(DRAW, kind=RequestKind.DEPOT_DRAW, alert=raised.message_id),
            precedence=Precedence.FLASH,
        ),
    ]
    counts = []
    for attempt in range(2):  # second pass: restart and replay the same input
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop, registry=REGISTRY))
        await feed(kafka_bootstrap, domain, [*steps, b"\x00poison"] if attempt == 0 else steps)
        await drained(kafka_bootstrap, group, domain)
        stop.set()
        await asyncio.wait_for(task, 60)
        snapshots = await read_until(kafka_bootstrap, [requests], settled)
        counts.append(len(snapshots))
        record = latest(snapshots)[REQ.encode()]
        assert [line.committed for line in record.status.lines] == [100, 10]
        out = envelopes(await read_until(kafka_bootstrap, submits, lambda rs: len(rs) >= 8))
        by_id = {e.message_id: e for e in out}
        codes = [e.body.code for e in by_id.values() if isinstance(e.body, ActionRejected)]
        assert codes == [RejectionCode.NOT_AUTHORISED]
        draws = [
            e
            for e in by_id.values()
            if isinstance(e.body, RequestStatus) and e.body.request_id == DRAW
        ]
        assert draws
        assert all(e.primary_precedence is Precedence.FLASH for e in draws)
        assert any(e.body.state is RequestState.AUTHORISED for e in draws)
    assert counts[0] == counts[1]  # the replay wrote no new state
    (letter,) = await read_until(
        kafka_bootstrap, [f"{prefix}{DEADLETTER}"], lambda rs: len(rs) >= 1
    )
    assert letter.value == b"\x00poison"
