"""Strict priority over a ROUTINE backlog, and acknowledgement escalation, through Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from router_cell import Cell
from router_helpers import envelope, read, read_to_end, submit

from schemas import codec
from schemas.audit import Decision, decode_audit
from schemas.kinds.notifications import AckResponse, Escalation, OperationalAck
from schemas.precedence import Precedence
from schemas.topics import AUDIT

pytestmark = pytest.mark.integration

BACKLOG = 10_000


async def _until(predicate, timeout_s: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_flash_overtakes_routine_backlog(cell: Cell) -> None:
    originators = ["usa.eucom", "gbr.cell", "fra.cell", "ukr.mod"]
    backlog = [
        envelope(originators[i % 4], ["deu.cell"], precedence=Precedence.ROUTINE)
        for i in range(BACKLOG)
    ]
    await submit(cell.producer, cell.prefix, *backlog)
    cell.start_router()
    await _until(lambda: len(cell.routed) > 0)
    flash = envelope("usa.eucom", ["gbr.cell"], precedence=Precedence.FLASH)
    await submit(cell.producer, cell.prefix, flash)
    flash_id = str(flash.message_id)
    await _until(lambda: len(cell.routed) >= BACKLOG + 1)
    order = [plan.message_id for _, plan in cell.routed]
    assert len(order) == BACKLOG + 1
    position = order.index(flash_id)
    routine_after = len(order) - position - 1
    # Routed while most of the backlog was still waiting, not after it drained.
    assert routine_after > BACKLOG // 2, (position, routine_after)
    assert all(plan.outcome == "routed" for _, plan in cell.routed)


async def test_unacknowledged_flash_escalates_acknowledged_does_not(cell: Cell) -> None:
    cell.start_router()
    due = datetime.now(UTC) + timedelta(seconds=4)
    rel = ("USA", "GBR", "FRA")
    silent = envelope(
        "usa.eucom",
        ["gbr.cell"],
        precedence=Precedence.FLASH,
        rel_to=rel,
        ack_required=True,
        ack_by=due,
    )
    answered = envelope(
        "usa.eucom",
        ["gbr.cell"],
        precedence=Precedence.FLASH,
        rel_to=rel,
        ack_required=True,
        ack_by=due,
    )
    await submit(cell.producer, cell.prefix, silent, answered)
    await read(cell.bootstrap, [cell.inbox("gbr.cell", "flash")], until=lambda rs: len(rs) >= 2)
    ack = envelope(
        "gbr.cell",
        ["usa.eucom"],
        precedence=Precedence.IMMEDIATE,
        rel_to=rel,
        body=OperationalAck(
            subject_message_id=answered.message_id,
            response=AckResponse.WILL_COMPLY,
            acknowledged_at=datetime.now(UTC),
        ),
    )
    await submit(cell.producer, cell.prefix, ack)

    def escalations(records: list) -> list[Escalation]:
        bodies = [codec.decode(r.value).body for r in records]
        return [b for b in bodies if isinstance(b, Escalation)]

    for desk in ("usa.eucom", "cell.watch"):
        got = await read(
            cell.bootstrap, [cell.inbox(desk, "flash")], until=lambda rs: bool(escalations(rs))
        )
        assert [e.subject_message_id for e in escalations(got)] == [silent.message_id]
        assert escalations(got)[0].outstanding == ("gbr.cell",)
    # Two more sweeps after the one that escalated `silent`: `answered` had the same deadline.
    await asyncio.sleep(1.0)
    everything = await read_to_end(
        cell.bootstrap, cell.inboxes("usa.eucom") + cell.inboxes("cell.watch")
    )
    subjects = [e.subject_message_id for e in escalations(everything)]
    assert subjects == [silent.message_id, silent.message_id]  # originator + WATCH, once each
    audit = [
        decode_audit(r.value) for r in await read_to_end(cell.bootstrap, [cell.prefix + AUDIT])
    ]
    acknowledged = [a for a in audit if a.decision is Decision.ACKNOWLEDGED]
    assert [(a.message_id, a.recipient, a.detail) for a in acknowledged] == [
        (answered.message_id, "gbr.cell", "WILL_COMPLY")
    ]
    escalated = {a.recipient for a in audit if a.decision is Decision.ESCALATED}
    assert escalated == {"usa.eucom", "cell.watch"}
