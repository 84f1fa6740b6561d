"""Records the router produces, as plain data (``Output``), built without touching Kafka.

The planner returns ``Output`` lists; the worker sends them inside one transaction. Keeping
them as data makes the routing decision testable without a broker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

from schemas import codec
from schemas.audit import AuditRecord, encode_audit
from schemas.topics import AUDIT, KeyRule, domain_topic, inbox_topic

if TYPE_CHECKING:
    from schemas.desks import Desk
    from schemas.envelope import Envelope
    from schemas.kinds.notifications import AddresseeRole
    from schemas.precedence import Precedence

HEADER_RECIPIENT = "cell-recipient"
HEADER_ADDRESSEE_ROLE = "cell-addressee-role"
HEADER_DELIVERED_PRECEDENCE = "cell-delivered-precedence"

Headers = tuple[tuple[str, bytes], ...]
# Set on each inbox copy by the router: a submission's own values for them are replaced.
_COPY_HEADERS = frozenset({HEADER_RECIPIENT, HEADER_ADDRESSEE_ROLE, HEADER_DELIVERED_PRECEDENCE})


class Output(Struct, frozen=True, kw_only=True):
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    partition: int | None = None  # None: the default partitioner (by key)


def copy_headers(envelope: Envelope, original_headers: Headers) -> Headers:
    """Headers common to every inbox copy of a message (built once per message, not per copy).

    The submission's own, less those ``inbox_copy`` sets per recipient; the envelope's
    standard headers when the submission carried no kind header.
    """
    base = tuple(h for h in original_headers if h[0] not in _COPY_HEADERS)
    if not any(name == codec.HEADER_KIND for name, _ in base):
        return tuple(codec.headers(envelope))
    return base


def inbox_copy(
    raw: bytes,
    *,
    key: bytes,
    base_headers: Headers,
    desk: Desk,
    role: AddresseeRole,
    precedence: Precedence,
    prefix: str,
) -> Output:
    """The original bytes, unchanged (the label is never rewritten), for one recipient.

    ``key``: the message id; ``base_headers``: ``copy_headers`` of the message.
    """
    extra = (
        (HEADER_RECIPIENT, desk.id.encode()),
        (HEADER_ADDRESSEE_ROLE, role.value.encode()),
        (HEADER_DELIVERED_PRECEDENCE, precedence.value.encode()),
    )
    return Output(
        topic=inbox_topic(desk, precedence, prefix=prefix),
        key=key,
        value=raw,
        headers=base_headers + extra,
    )


def notification(report: Envelope, desk: Desk, prefix: str) -> Output:
    """A router-originated envelope (report, escalation) for one desk's inbox."""
    return Output(
        topic=inbox_topic(desk, report.primary_precedence, prefix=prefix),
        key=str(report.message_id).encode(),
        value=codec.encode(report),
        headers=(
            *codec.headers(report),
            (HEADER_RECIPIENT, desk.id.encode()),
            (HEADER_DELIVERED_PRECEDENCE, report.primary_precedence.value.encode()),
        ),
    )


def domain_copy(envelope: Envelope, raw: bytes, family: str, prefix: str) -> Output:
    return Output(
        topic=domain_topic(family, prefix=prefix),
        key=KeyRule.ENTITY.key_for(envelope),
        value=raw,
        headers=tuple(codec.headers(envelope)),
    )


def audit(record: AuditRecord, prefix: str, key: bytes | None = None) -> Output:
    """``key``: the message id as bytes, when the caller already has it."""
    return Output(
        topic=f"{prefix}{AUDIT}",
        key=key if key is not None else str(record.message_id).encode(),
        value=encode_audit(record),
    )
