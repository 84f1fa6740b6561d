"""One accepted change to a request: new version, recomputed lines, one history entry.

Every path that changes a request (a command, an offer, a consignment, the service's own
steps) goes through ``step``, so the published ``RequestStatus`` and the history never drift.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from msgspec import Struct, structs

from schemas.kinds.notifications import RejectionCode
from schemas.kinds.support import RequestState
from services.support.matching import MATCHING_STATES, match_state, progress
from services.support.state import ConsignmentRecord, HistoryEntry, OfferRecord, RequestRecord


class Refused(Struct, frozen=True, kw_only=True):
    code: RejectionCode
    detail: str
    current_state: RequestState | None = None


class Actor(Struct, frozen=True, kw_only=True):
    """Who caused a step, and by which message (its id is the idempotency key)."""

    desk_id: str
    message_id: UUID


def step(
    record: RequestRecord,
    *,
    actor: Actor,
    action: str,
    to_state: RequestState,
    now: datetime,
    note: str = "",
    offers: tuple[OfferRecord, ...] | None = None,
    consignments: tuple[ConsignmentRecord, ...] | None = None,
    solicited: tuple[str, ...] | None = None,
    awaiting_alert: UUID | None = None,
) -> RequestRecord:
    """``record`` after one change; a matching state is re-derived from the new lines."""
    offers = record.offers if offers is None else offers
    consignments = record.consignments if consignments is None else consignments
    lines = progress(record, offers, consignments)
    if to_state in MATCHING_STATES:
        to_state = match_state(lines)
    version = record.status.version + 1
    status = structs.replace(
        record.status,
        version=version,
        state=to_state,
        lines=lines,
        offer_ids=tuple(o.offer_id for o in offers),
        consignment_ids=tuple(c.consignment_id for c in consignments),
        updated_at=max(now, record.status.updated_at),
        note=note[:1000],
    )
    entry = HistoryEntry(
        message_id=actor.message_id,
        action=action,
        actor=actor.desk_id,
        at=now,
        from_state=record.state,
        to_state=to_state,
        version=version,
        note=note[:1000],
    )
    return structs.replace(
        record,
        status=status,
        history=(*record.history, entry),
        offers=offers,
        consignments=consignments,
        solicited=record.solicited if solicited is None else solicited,
        awaiting_alert=awaiting_alert,
    )
