"""The routing decision for one submission, as a plan of records: pure, no Kafka.

``plan`` turns one consumed record into every output the routing transaction must write
(inbox copies, reports, domain copy, audit, router state) or into a dead letter. It also
applies its state writes to ``RouterState`` at once, so a duplicate later in the same batch
is caught; if the transaction then fails the worker discards the whole state and replays it
from the topic.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from msgspec import Struct

from schemas import codec
from schemas.audit import AuditRecord, Decision
from schemas.common import DESK_ID_PATTERN
from schemas.kinds.notifications import NonDeliveryReason
from schemas.topics import DEADLETTER
from services.router import guard, outputs, reports
from services.router.addressing import expand
from services.router.state import (
    Seen,
    StateWrite,
    dedup_key,
    encode_state,
)
from services.router.tracking import track
from services.runtime.deadletter import dead_letter

if TYPE_CHECKING:
    from datetime import datetime

    from schemas.desks import Desk, DeskRegistry
    from schemas.envelope import Envelope
    from services.router.state import RouterState
    from services.runtime.deadletter import SourceRecord

_DESK_ID = re.compile(DESK_ID_PATTERN)


class Context(Struct, frozen=True, kw_only=True):
    registry: DeskRegistry
    prefix: str
    router_desk: str
    state_partitions: int
    service: str = "router"


class Plan(Struct, kw_only=True):
    """Everything one submission produces, and the facts of its canonical log line."""

    outcome: str  # routed | rejected | duplicate | dead_lettered
    outputs: list[outputs.Output]
    state: list[StateWrite]
    message_id: str | None = None
    originator: str | None = None
    kind: str | None = None
    precedence: str | None = None
    delivered: int = 0
    refused: int = 0
    reason: str | None = None


class _Builder:
    def __init__(self, ctx: Context, envelope: Envelope, now: datetime) -> None:
        self.ctx, self.envelope, self.now = ctx, envelope, now
        self.outputs: list[outputs.Output] = []
        self.state: list[StateWrite] = []
        self.originator = ctx.registry.get(envelope.originator)
        self.message_id = str(envelope.message_id)
        self.key = self.message_id.encode()  # of its inbox copies and audit records

    def audit(self, decision: Decision, **fields: object) -> None:
        values: dict[str, object] = {"precedence": self.envelope.primary_precedence} | fields
        record = AuditRecord(
            message_id=self.envelope.message_id,
            originator=self.envelope.originator,
            decision=decision,
            at=self.now,
            kind=self.envelope.kind,
            **values,  # type: ignore[arg-type]
        )
        self.outputs.append(outputs.audit(record, self.ctx.prefix, self.key))

    def to_originator(self, report: Envelope) -> None:
        if self.originator is not None:
            self.outputs.append(outputs.notification(report, self.originator, self.ctx.prefix))

    def refuse(self, recipient: str, reason: NonDeliveryReason, desk: Desk | None = None) -> None:
        report = reports.non_delivery_report(
            self.envelope,
            router=self.ctx.router_desk,
            recipient=recipient,
            reason=reason,
            now=self.now,
        )
        self.to_originator(report)
        self.audit(
            Decision.REFUSED,
            recipient=desk.id if desk is not None else None,
            reason=reason,
            detail="" if desk is not None else recipient,
        )


def plan(
    record: SourceRecord,
    *,
    ctx: Context,
    state: RouterState,
    minimize: list[guard.MinimizeRule],
    now: datetime,
    partition: int,
) -> Plan:
    """Route one consumed submission; never raises for bad input (dead letter instead)."""
    raw = record.value
    try:
        if raw is None:
            raise codec.DecodeError("record has no value")  # noqa: TRY301 - one poison path
        envelope = codec.decode(raw)
    except (codec.DecodeError, ValueError) as exc:
        return _dead_letter(record, ctx, now, "undecodable", str(exc))
    try:
        return _route(
            envelope,
            bytes(raw),
            record=record,
            ctx=ctx,
            state=state,
            minimize=minimize,
            now=now,
            partition=partition,
        )
    except Exception as exc:  # noqa: BLE001 - a record that breaks routing must not stall the partition
        return _dead_letter(record, ctx, now, "unroutable", repr(exc))


def _route(
    envelope: Envelope,
    raw: bytes,
    *,
    record: SourceRecord,
    ctx: Context,
    state: RouterState,
    minimize: list[guard.MinimizeRule],
    now: datetime,
    partition: int,
) -> Plan:
    b = _Builder(ctx, envelope, now)
    result = Plan(
        outcome="routed",
        outputs=b.outputs,
        state=b.state,
        message_id=b.message_id,
        originator=envelope.originator,
        kind=envelope.kind,
        precedence=envelope.primary_precedence.value,
    )
    if state.is_duplicate(envelope.originator, envelope.message_id):
        b.audit(Decision.DUPLICATE)
        result.outcome = "duplicate"
        return result
    seen = StateWrite(
        partition % ctx.state_partitions,
        dedup_key(envelope.originator, envelope.message_id),
        encode_state(Seen(at=now)),
    )
    b.state.append(seen)
    rejected = guard.check_originator(envelope, b.originator)
    if rejected is not None:
        for address in (*envelope.action_to, *envelope.info_to):
            b.to_originator(
                reports.non_delivery_report(
                    envelope, router=ctx.router_desk, recipient=address, reason=rejected, now=now
                )
            )
        b.audit(Decision.REJECTED, reason=rejected)
        result.outcome, result.reason = "rejected", rejected.value
        result.refused = len(envelope.action_to) + len(envelope.info_to)
        _apply(state, b.state)
        return result
    expansion = expand(envelope, ctx.registry)
    for address in expansion.unresolved:
        b.refuse(address, NonDeliveryReason.UNKNOWN_RECIPIENT)
    result.refused += len(expansion.unresolved)
    delivered_actions: list[str] = []
    headers = outputs.copy_headers(
        envelope, tuple((str(k), bytes(v)) for k, v in (record.headers or ()))
    )
    for recipient in expansion.recipients:
        desk = recipient.desk
        reason = guard.check_recipient(envelope, desk, recipient.precedence, now, minimize)
        if reason is not None:
            b.refuse(desk.id, reason, desk)
            result.refused += 1
            continue
        copy = outputs.inbox_copy(
            raw,
            key=b.key,
            base_headers=headers,
            desk=desk,
            role=recipient.role,
            precedence=recipient.precedence,
            prefix=ctx.prefix,
        )
        b.outputs.append(copy)
        b.to_originator(
            reports.delivery_report(
                envelope,
                router=ctx.router_desk,
                recipient=desk.id,
                role=recipient.role,
                precedence=recipient.precedence,
                now=now,
            )
        )
        b.audit(
            Decision.DELIVERED,
            recipient=desk.id,
            addressee_role=recipient.role,
            precedence=recipient.precedence,
            inbox_topic=copy.topic,
        )
        result.delivered += 1
        if recipient.role.value == "ACTION":
            delivered_actions.append(desk.id)
    if not expansion.recipients and not expansion.unresolved:
        # Groups that reached only the originator: still one decision on the audit trail.
        b.audit(Decision.REFUSED, detail="no recipient besides the originator")
    expired = envelope.expires_at is not None and envelope.expires_at <= now
    family = type(envelope.body).family
    if family is not None and not expired:
        b.outputs.append(outputs.domain_copy(envelope, raw, family, ctx.prefix))
    track(b, state, delivered_actions)
    _apply(state, b.state)
    return result


def _apply(state: RouterState, writes: list[StateWrite]) -> None:
    for write in writes:
        state.apply(write.partition, write.key, write.value)


def _dead_letter(
    record: SourceRecord, ctx: Context, now: datetime, reason: str, error: str
) -> Plan:
    letter = dead_letter(record, reason=reason, error=error, service=ctx.service)
    result = Plan(
        outcome="dead_lettered",
        outputs=[
            outputs.Output(
                topic=f"{ctx.prefix}{DEADLETTER}",
                key=letter.key,
                value=letter.value,
                headers=letter.headers,
            )
        ],
        state=[],
        reason=reason,
    )
    message_id = codec.header_value(list(record.headers or ()), codec.HEADER_MESSAGE_ID)
    originator = (record.key or b"").decode(errors="replace")
    try:
        parsed = uuid.UUID(message_id) if message_id else None
    except ValueError:
        parsed = None
    if parsed is not None and _DESK_ID.fullmatch(originator):
        audit = AuditRecord(
            message_id=parsed,
            originator=originator,
            decision=Decision.DEAD_LETTERED,
            at=now,
            detail=f"{reason}: {error}"[:1000],
        )
        result.outputs.append(outputs.audit(audit, ctx.prefix))
        result.message_id, result.originator = str(parsed), originator
    return result
