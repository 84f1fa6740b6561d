"""What every domain service does first with a consumed record, and how it says no.

``open_record`` decodes the envelope or turns the record into a dead letter (logged, so the
partition keeps flowing); ``rejection`` builds the ``ActionRejected`` a refused command earns,
back to its sender under a derived id, so a replayed refusal is delivered once.
"""

from __future__ import annotations

from datetime import datetime

from schemas import codec
from schemas.envelope import Envelope
from schemas.kinds.notifications import ActionRejected, RejectionCode
from services.runtime import ids
from services.runtime.deadletter import SourceRecord
from services.runtime.logging import get_logger
from services.runtime.outbox import Output, ServiceDesk

log = get_logger(__name__)


def open_record(record: SourceRecord, desk: ServiceDesk, *, service: str) -> Envelope | Output:
    """The record's envelope, or the dead letter that replaces an undecodable record."""
    try:
        if record.value is None:
            raise codec.DecodeError("record has no value")  # noqa: TRY301 - one poison path
        return codec.decode(record.value)
    except (codec.DecodeError, ValueError) as exc:
        log.warning(
            "record_dead_lettered",
            service=service,
            reason="undecodable",
            error=str(exc),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        return desk.dead_letter(record, reason="undecodable", error=str(exc), service=service)


def foreign_kind(
    record: SourceRecord, envelope: Envelope, desk: ServiceDesk, *, service: str
) -> Output | None:
    """The dead letter for an envelope of another family's kind on ``service``'s topic.

    The router copies a kind only to its own family's topic, so such a record was written
    around the router: poison, not traffic to ignore (kinds of the service's own family that
    it does not act on, such as its own published state, are still ignored by the caller).
    """
    family = type(envelope.body).family
    if family == service:
        return None
    error = f"kind {envelope.kind} (family {family}) does not belong on the {service} topic"
    log.warning(
        "record_dead_lettered",
        service=service,
        reason="wrong_kind",
        error=error,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )
    return desk.dead_letter(record, reason="wrong_kind", error=error, service=service)


def rejection(
    desk: ServiceDesk,
    envelope: Envelope,
    *,
    code: RejectionCode,
    detail: str,
    entity_id: str | None,
    current_state: str | None,
    subject: str,
    now: datetime,
) -> Output:
    """``ActionRejected`` to the sender of ``envelope``, on the submit lane it used."""
    body = ActionRejected(
        subject_message_id=envelope.message_id,
        code=code,
        entity_id=entity_id,
        current_state=current_state,
        detail=detail[:1000] or code.value,
        occurred_at=now,
    )
    reply = desk.envelope(
        body,
        message_id=ids.message_id("rejected", str(envelope.message_id)),
        action_to=(envelope.originator,),
        label=envelope.label,
        subject=subject,
        precedence=envelope.primary_precedence,
        traffic_type=envelope.traffic_type,
        now=now,
        in_reply_to=envelope.message_id,
        correlation_id=entity_id,
    )
    return desk.submit(reply)
