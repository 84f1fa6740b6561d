"""End to end through the real broker: releasability, reports, dedup, poison records."""

from __future__ import annotations

import asyncio

import pytest
from router_cell import Cell
from router_helpers import envelope, read, read_to_end, submit

from schemas import codec
from schemas.audit import Decision, decode_audit
from schemas.kinds.notifications import DeliveryReport, NonDeliveryReason, NonDeliveryReport
from schemas.precedence import Precedence
from schemas.topics import AUDIT, DEADLETTER, submit_topic

pytestmark = pytest.mark.integration


def _reports(records: list, subject) -> list:
    bodies = [codec.decode(r.value).body for r in records]
    return [b for b in bodies if getattr(b, "subject_message_id", None) == subject]


async def test_releasable_to_one_nation_only(cell: Cell) -> None:
    cell.start_router()
    message = envelope("usa.eucom", ["gbr.cell", "fra.cell"], rel_to=("USA", "GBR"))
    await submit(cell.producer, cell.prefix, message)

    originator = await read(
        cell.bootstrap,
        [cell.inbox("usa.eucom", "routine")],
        until=lambda rs: len(_reports(rs, message.message_id)) >= 2,
    )
    reports = {r.recipient: r for r in _reports(originator, message.message_id)}
    assert isinstance(reports["gbr.cell"], DeliveryReport)
    assert isinstance(reports["fra.cell"], NonDeliveryReport)
    assert reports["fra.cell"].reason is NonDeliveryReason.LABEL_NOT_RELEASABLE
    report_envelopes = [codec.decode(r.value) for r in originator]
    assert all(e.label == message.label for e in report_envelopes)
    assert all(e.originator == "cell.router" for e in report_envelopes)

    gbr = await read_to_end(cell.bootstrap, cell.inboxes("gbr.cell"))
    assert [r.value for r in gbr] == [codec.encode(message)]
    assert dict(gbr[0].headers)["cell-recipient"] == b"gbr.cell"
    assert await read_to_end(cell.bootstrap, cell.inboxes("fra.cell")) == []

    audit = [
        decode_audit(r.value) for r in await read_to_end(cell.bootstrap, [cell.prefix + AUDIT])
    ]
    decisions = {(a.recipient, a.decision, a.reason) for a in audit}
    assert ("gbr.cell", Decision.DELIVERED, None) in decisions
    assert ("fra.cell", Decision.REFUSED, NonDeliveryReason.LABEL_NOT_RELEASABLE) in decisions


async def test_duplicate_delivered_once_and_poison_dead_lettered(cell: Cell) -> None:
    cell.start_router()
    first = envelope("usa.eucom", ["gbr.cell"])
    later = envelope("usa.eucom", ["gbr.cell"])
    lane = submit_topic(Precedence.ROUTINE, prefix=cell.prefix)
    await submit(cell.producer, cell.prefix, first, first)
    poison = [
        b"{not json",
        b'{"message_id": "nope"}',
        codec.encode(first).replace(b"liaison.message.v1", b"no.such.v1"),
    ]
    for value in poison:
        await cell.producer.send_and_wait(lane, value=value, key=b"usa.eucom")
    await submit(cell.producer, cell.prefix, first, later)

    records = await read(
        cell.bootstrap,
        cell.inboxes("gbr.cell"),
        until=lambda rs: any(r.value == codec.encode(later) for r in rs),
    )
    assert [r.value for r in records] == [codec.encode(first), codec.encode(later)]
    dead = await read(cell.bootstrap, [cell.prefix + DEADLETTER], until=lambda rs: len(rs) >= 3)
    assert sorted(r.value for r in dead) == sorted(poison)
    headers = dict(dead[0].headers)
    assert headers["dlq-source-topic"] == lane.encode()
    assert headers["dlq-service"] == b"router"
    await asyncio.sleep(0)
    audit = [
        decode_audit(r.value) for r in await read_to_end(cell.bootstrap, [cell.prefix + AUDIT])
    ]
    duplicates = [a for a in audit if a.decision is Decision.DUPLICATE]
    assert len(duplicates) == 2
    assert {a.message_id for a in duplicates} == {first.message_id}
