"""Envelopes the router itself originates: delivery / non-delivery reports and escalations.

Each is labelled with the label of the message it is about (never lower, DOMAIN §4 rule 4),
carries the subject message id and the one recipient concerned, never the content or the other
recipients. Message ids are derived (uuid5) from what the report is about, so a transaction
retried after an abort produces the very same reports.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

from schemas.envelope import Envelope
from schemas.kinds.notifications import (
    AddresseeRole,
    DeliveryReport,
    Escalation,
    EscalationReason,
    NonDeliveryReason,
    NonDeliveryReport,
)

if TYPE_CHECKING:
    from datetime import datetime

    from schemas.body import Body
    from schemas.common import TrafficType
    from schemas.labels import SecurityLabel
    from schemas.precedence import Precedence

_NAMESPACE = uuid.UUID("6f1c1f0e-4b5e-4f43-9d55-0c2a8a7c5a11")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def report_id(subject: uuid.UUID, what: str, recipient: str) -> uuid.UUID:
    """``uuid5(_NAMESPACE, "subject:what:recipient")``, the same id.

    Written out because ``uuid.uuid5`` imports hashlib and converts the namespace on every
    call: 13 % of the router's planning time, two reports per delivered copy.
    """
    name = f"{subject}:{what}:{recipient}".encode()
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def _envelope(
    *,
    message_id: uuid.UUID,
    router: str,
    to: tuple[str, ...],
    label: SecurityLabel,
    traffic_type: TrafficType,
    precedence: Precedence,
    subject: str,
    now: datetime,
    body: Body,
) -> Envelope:
    return Envelope(
        message_id=message_id,
        traffic_type=traffic_type,
        originator=router,
        action_to=to,
        primary_precedence=precedence,
        copy_precedence=precedence,
        label=label,
        subject=subject,
        created_at=now,
        released_at=now,
        body=body,
    )


def delivery_report(
    message: Envelope,
    *,
    router: str,
    recipient: str,
    role: AddresseeRole,
    precedence: Precedence,
    now: datetime,
) -> Envelope:
    return _envelope(
        message_id=report_id(message.message_id, "delivery", recipient),
        router=router,
        to=(message.originator,),
        label=message.label,
        traffic_type=message.traffic_type,
        precedence=message.primary_precedence,
        subject="Delivery report",
        now=now,
        body=DeliveryReport(
            subject_message_id=message.message_id,
            recipient=recipient,
            addressee_role=role,
            precedence=precedence,
            delivered_at=now,
        ),
    )


def non_delivery_report(
    message: Envelope,
    *,
    router: str,
    recipient: str,
    reason: NonDeliveryReason,
    now: datetime,
    detail: str = "",
) -> Envelope:
    return _envelope(
        message_id=report_id(message.message_id, "non_delivery", recipient),
        router=router,
        to=(message.originator,),
        label=message.label,
        traffic_type=message.traffic_type,
        precedence=message.primary_precedence,
        subject="Non-delivery report",
        now=now,
        body=NonDeliveryReport(
            subject_message_id=message.message_id,
            recipient=recipient,
            reason=reason,
            detail=detail,
            occurred_at=now,
        ),
    )


def escalation(
    *,
    subject_message_id: uuid.UUID,
    router: str,
    to: tuple[str, ...],
    label: SecurityLabel,
    traffic_type: TrafficType,
    precedence: Precedence,
    outstanding: tuple[str, ...],
    due_at: datetime,
    now: datetime,
) -> Envelope:
    return _envelope(
        message_id=report_id(subject_message_id, "escalation", "ack"),
        router=router,
        to=to,
        label=label,
        traffic_type=traffic_type,
        precedence=precedence,
        subject="Acknowledgement overdue",
        now=now,
        body=Escalation(
            subject_message_id=subject_message_id,
            reason=EscalationReason.ACK_OVERDUE,
            outstanding=outstanding,
            due_at=due_at,
            detected_at=now,
        ),
    )
