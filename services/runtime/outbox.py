"""What a domain service writes, as data: state snapshots, sealed envelopes, dead letters.

Services act as desks (ARCHITECTURE): their notifications, alerts and case openings are sealed
envelopes produced to the submit lane of their precedence, keyed by originator like any
desk's, so the router guards, routes, audits and deduplicates them. Building outputs as data
keeps every decision testable without a broker; the worker sends them in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from msgspec import Struct

from schemas import codec
from schemas.body import Body
from schemas.common import TrafficType
from schemas.envelope import Envelope
from schemas.labels import SecurityLabel
from schemas.precedence import Precedence
from schemas.topics import DEADLETTER, submit_topic
from services.runtime.deadletter import SourceRecord, dead_letter

Headers = tuple[tuple[str, bytes], ...]


class Output(Struct, frozen=True, kw_only=True):
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


class ServiceDesk(Struct, frozen=True, kw_only=True):
    """The desk a service signs with, and the topic prefix it writes under."""

    desk_id: str
    prefix: str = ""
    # Whether the desk holds the FLASH role; without it the router refuses FLASH, so the
    # desk sends at IMMEDIATE instead (the highest precedence it may originate).
    flash: bool = True

    def precedence(self, wanted: Precedence) -> Precedence:
        if wanted is Precedence.FLASH and not self.flash:
            return Precedence.IMMEDIATE
        return wanted

    def envelope(
        self,
        body: Body,
        *,
        message_id: UUID,
        action_to: Sequence[str],
        label: SecurityLabel,
        subject: str,
        precedence: Precedence,
        traffic_type: TrafficType,
        now: datetime,
        info_to: Sequence[str] = (),
        in_reply_to: UUID | None = None,
        references: Sequence[UUID] = (),
        correlation_id: str | None = None,
    ) -> Envelope:
        precedence = self.precedence(precedence)
        return Envelope(
            message_id=message_id,
            traffic_type=traffic_type,
            originator=self.desk_id,
            action_to=tuple(action_to),
            info_to=tuple(dict.fromkeys(a for a in info_to if a not in action_to)),
            primary_precedence=precedence,
            copy_precedence=precedence,
            label=label,
            subject=subject[:200],
            created_at=now,
            released_at=now,
            in_reply_to=in_reply_to,
            references=tuple(dict.fromkeys(references))[:50],
            correlation_id=correlation_id,
            body=body,
        )

    def submit(self, envelope: Envelope) -> Output:
        """The envelope on its submit lane, keyed by originator as the topic registry says."""
        return Output(
            topic=submit_topic(envelope.primary_precedence, prefix=self.prefix),
            key=envelope.originator.encode(),
            value=codec.encode(envelope),
            headers=tuple(codec.headers(envelope)),
        )

    def dead_letter(self, record: SourceRecord, *, reason: str, error: str, service: str) -> Output:
        letter = dead_letter(record, reason=reason, error=error, service=service)
        return Output(
            topic=f"{self.prefix}{DEADLETTER}",
            key=letter.key,
            value=letter.value,
            headers=letter.headers,
        )
