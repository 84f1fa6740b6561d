"""State side effects of a routed message: open acknowledgements, acks and read receipts
(with their audit records), and MINIMIZE imposed or lifted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.audit import AuditRecord, Decision
from schemas.kinds.control import Minimize, MinimizeStatus
from schemas.kinds.notifications import OperationalAck, ReadReceipt
from schemas.roles import Role
from services.router import outputs
from services.router.state import (
    Acked,
    MinimizeInForce,
    OpenAck,
    StateWrite,
    ack_key,
    ack_partition,
    acked_key,
    encode_state,
    minimize_key,
    minimize_partition,
)

if TYPE_CHECKING:
    from schemas.desks import DeskRegistry
    from services.router.route import _Builder
    from services.router.state import RouterState


def track(b: _Builder, state: RouterState, delivered_actions: list[str]) -> None:
    """State side effects: open acknowledgements, acks and receipts, MINIMIZE."""
    envelope, ctx, n = b.envelope, b.ctx, b.ctx.state_partitions
    awaiting = awaited_desks(ctx.registry, delivered_actions)
    if envelope.ack_required and envelope.ack_by is not None and awaiting:
        open_ack = OpenAck(
            message_id=envelope.message_id,
            originator=envelope.originator,
            label=envelope.label,
            traffic_type=envelope.traffic_type,
            precedence=envelope.primary_precedence,
            ack_by=envelope.ack_by,
            awaiting=awaiting,
        )
        partition = ack_partition(envelope.message_id, n)
        b.state.append(StateWrite(partition, ack_key(envelope.message_id), encode_state(open_ack)))
    body = envelope.body
    if isinstance(body, (OperationalAck, ReadReceipt)):
        subject = body.subject_message_id
        known = state.open_acks.get(subject)
        subject_originator = known[0].originator if known is not None else first_desk(b)
        decision = Decision.ACKNOWLEDGED if isinstance(body, OperationalAck) else Decision.READ
        detail = body.response.value if isinstance(body, OperationalAck) else body.mode.value
        if subject_originator is not None:
            record = AuditRecord(
                message_id=subject,
                originator=subject_originator,
                decision=decision,
                at=b.now,
                kind=envelope.kind,
                recipient=envelope.originator,
                detail=detail,
            )
            b.outputs.append(outputs.audit(record, ctx.prefix))
        awaited = known is not None and envelope.originator in known[0].awaiting
        if isinstance(body, OperationalAck) and awaited:
            acked = Acked(response=body.response, at=b.now)
            b.state.append(
                StateWrite(
                    ack_partition(subject, n),
                    acked_key(subject, envelope.originator),
                    encode_state(acked),
                )
            )
    if isinstance(body, Minimize):
        key, partition = minimize_key(body.minimize_id), minimize_partition(body.minimize_id, n)
        value = None
        if body.status is MinimizeStatus.IMPOSED:
            value = encode_state(
                MinimizeInForce(
                    minimize_id=body.minimize_id,
                    scope=body.scope,
                    threshold=body.threshold,
                    imposed_by=envelope.originator,
                )
            )
        b.state.append(StateWrite(partition, key, value))


def awaited_desks(registry: DeskRegistry, delivered_actions: list[str]) -> tuple[str, ...]:
    """Action addressees whose acknowledgement is awaited: every desk but the cell's own
    services, which act on their domain copy and never post an OperationalAck (an alert to
    ``ALL`` would otherwise always escalate them)."""
    desks = (registry.get(desk_id) for desk_id in delivered_actions)
    return tuple(d.id for d in desks if d is not None and Role.SERVICE not in d.roles)


def first_desk(b: _Builder) -> str | None:
    return next((a for a in b.envelope.action_to if a in b.ctx.registry), None)
