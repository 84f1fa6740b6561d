"""Acknowledgement tracking: which open messages are overdue, which are complete (pure).

A message with ``ack_required`` stays open until every action addressee it was delivered to
(the cell's services excepted: ``tracking.awaited_desks``) posts an OperationalAck. ``sweep``
runs periodically for the state partitions this instance owns and returns, per partition, the
records of one transaction:

- overdue and not yet escalated: an Escalation to the originator and to every WATCH desk
  cleared for the message's label (labelled like the message), an ESCALATED audit record, and
  the open record rewritten with ``escalated=True`` so it is never escalated twice;
- complete, or escalated and older than the dedup window: tombstones, so the compacted topic
  and the memory stay bounded;
- dedup entries past the window: tombstones (bounded per sweep).

An ack committed by another instance and not yet replayed here can race with an escalation;
the reader lag is a few hundred milliseconds, so only acks within that window of the deadline
can be escalated anyway. The escalation itself is exactly once (transaction + state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from schemas.audit import AuditRecord, Decision
from schemas.roles import Role
from services.router import guard, outputs, reports
from services.router.state import StateWrite, ack_key, acked_key, encode_state

if TYPE_CHECKING:
    from datetime import datetime

    from services.router.route import Context
    from services.router.state import OpenAck, RouterState

_DEDUP_PRUNE_LIMIT = 1000


class Sweep(msgspec.Struct, kw_only=True):
    outputs: list[outputs.Output]
    state: list[StateWrite]
    escalated: list[str]
    closed: int = 0


def sweep(state: RouterState, ctx: Context, now: datetime, owned: set[int]) -> dict[int, Sweep]:
    result: dict[int, Sweep] = {}

    def at(partition: int) -> Sweep:
        return result.setdefault(partition, Sweep(outputs=[], state=[], escalated=[]))

    for message_id, (open_ack, partition) in list(state.open_acks.items()):
        if partition not in owned:
            continue
        acked = state.acked.get(message_id, {})
        outstanding = tuple(desk for desk in open_ack.awaiting if desk not in acked)
        stale = open_ack.escalated and now - open_ack.ack_by > state.dedup_window
        if not outstanding or stale:
            part = at(partition)
            part.state.append(StateWrite(partition, ack_key(message_id), None))
            part.state.extend(
                StateWrite(partition, acked_key(message_id, desk), None) for desk in acked
            )
            part.closed += 1
        elif not open_ack.escalated and now >= open_ack.ack_by:
            _escalate(
                at(partition),
                open_ack=open_ack,
                outstanding=outstanding,
                ctx=ctx,
                now=now,
                partition=partition,
            )
    for write in state.expired_dedup(now, owned, _DEDUP_PRUNE_LIMIT):
        at(write.partition).state.append(write)
    return result


def _escalate(
    part: Sweep,
    *,
    open_ack: OpenAck,
    outstanding: tuple[str, ...],
    ctx: Context,
    now: datetime,
    partition: int,
) -> None:
    registry = ctx.registry
    originator = registry.get(open_ack.originator)
    desks = [originator] if originator is not None else []
    desks.extend(
        desk
        for desk in registry.with_role(Role.WATCH)
        if desk.id != open_ack.originator
        and guard.may_see(desk, open_ack.label, open_ack.traffic_type)
    )
    if desks:
        envelope = reports.escalation(
            subject_message_id=open_ack.message_id,
            router=ctx.router_desk,
            to=tuple(desk.id for desk in desks),
            label=open_ack.label,
            traffic_type=open_ack.traffic_type,
            precedence=open_ack.precedence,
            outstanding=outstanding,
            due_at=open_ack.ack_by,
            now=now,
        )
        part.outputs.extend(outputs.notification(envelope, desk, ctx.prefix) for desk in desks)
    for desk in desks:
        record = AuditRecord(
            message_id=open_ack.message_id,
            originator=open_ack.originator,
            decision=Decision.ESCALATED,
            at=now,
            precedence=open_ack.precedence,
            recipient=desk.id,
            detail=f"outstanding: {', '.join(outstanding)}"[:1000],
        )
        part.outputs.append(outputs.audit(record, ctx.prefix))
    escalated = msgspec.structs.replace(open_ack, escalated=True)
    part.state.append(StateWrite(partition, ack_key(open_ack.message_id), encode_state(escalated)))
    part.escalated.append(str(open_ack.message_id))
