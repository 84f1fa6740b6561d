"""The guard: originator rights and per-recipient releasability (DOMAIN §2-4). Pure functions.

``check_originator`` decides for the whole message (a refusal there is a REJECTED message);
``check_recipient`` decides per recipient (a refusal there only affects that recipient).
Checks run in a fixed order and the first failing one names the reason, so a recipient that
fails several gets one stable reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

from schemas.common import TrafficType
from schemas.kinds.notifications import NonDeliveryReason
from schemas.labels import clearance_permits, holds_categories, releasable_to
from schemas.precedence import Precedence
from schemas.roles import Role

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from schemas.desks import Desk
    from schemas.envelope import Envelope
    from schemas.labels import SecurityLabel

# Kinds that only desks holding one of the roles may originate. Kinds not listed are open to
# every desk; the domain services refuse unauthorised commands within a family themselves.
REQUIRED_ROLES: dict[str, frozenset[Role]] = {
    "alert.attack.v1": frozenset({Role.WATCH}),
    "control.minimize.v1": frozenset({Role.WATCH}),
    "monitoring.report.v1": frozenset({Role.MONITOR}),
    "monitoring.incident.v1": frozenset({Role.SERVICE}),
    "monitoring.summary.v1": frozenset({Role.SERVICE}),
    "commission.case.v1": frozenset({Role.SERVICE}),
    "support.request.v1": frozenset({Role.REQUESTER}),
    "support.offer.v1": frozenset({Role.DONOR}),
    "support.status.v1": frozenset({Role.SERVICE}),
    "tasking.order.v1": frozenset({Role.FORCE_HQ}),
    # Cell notifications are the cell's to issue; desks post receipts and acknowledgements.
    "notify.delivery.v1": frozenset({Role.SERVICE}),
    "notify.non_delivery.v1": frozenset({Role.SERVICE}),
    "notify.escalation.v1": frozenset({Role.SERVICE}),
    "notify.rejected.v1": frozenset({Role.SERVICE}),
}

# Kinds MINIMIZE never holds back: receipts and acknowledgements close loops that MINIMIZE
# exists to protect, and MINIMIZE itself must be liftable.
MINIMIZE_EXEMPT = frozenset(
    {
        "control.minimize.v1",
        "alert.attack.v1",
        "notify.read.v1",
        "notify.ack.v1",
        "notify.non_receipt.v1",
        "notify.delivery.v1",
        "notify.non_delivery.v1",
        "notify.escalation.v1",
        "notify.rejected.v1",
    }
)


# Replies a desk posts about a message it received; the gateway sends them at the precedence
# of that message, so a desk without FLASH may still answer a FLASH message (an attack alert
# requires every desk's acknowledgement).
REPLY_KINDS = frozenset({"notify.read.v1", "notify.ack.v1"})


class MinimizeRule(Struct, frozen=True, kw_only=True):
    """One MINIMIZE in force: traffic to ``scope`` below ``threshold`` is refused."""

    minimize_id: str
    scope: frozenset[str]  # desk ids the scope addresses expanded to
    threshold: Precedence


def check_originator(envelope: Envelope, originator: Desk | None) -> NonDeliveryReason | None:
    """None when the originator may send this message at all."""
    if originator is None or not originator.accepts(envelope.traffic_type):
        return NonDeliveryReason.ORIGINATOR_NOT_AUTHORISED
    flash = envelope.primary_precedence is Precedence.FLASH
    reply = envelope.kind in REPLY_KINDS and envelope.in_reply_to is not None
    if flash and not reply and Role.FLASH not in originator.roles:
        return NonDeliveryReason.PRECEDENCE_NOT_AUTHORISED
    required = REQUIRED_ROLES.get(envelope.kind)
    if required is not None and not required & originator.roles:
        return NonDeliveryReason.ORIGINATOR_NOT_AUTHORISED
    return None


def check_recipient(  # noqa: PLR0911 - one return per rule, in the rules' order
    envelope: Envelope,
    desk: Desk,
    precedence: Precedence,
    now: datetime,
    minimize: Iterable[MinimizeRule] = (),
) -> NonDeliveryReason | None:
    """None when ``desk`` may receive ``envelope`` at ``precedence`` (as delivered) now."""
    if envelope.expires_at is not None and envelope.expires_at <= now:
        return NonDeliveryReason.EXPIRED
    if not desk.accepts(envelope.traffic_type):
        if envelope.traffic_type is TrafficType.OPERATION:
            return NonDeliveryReason.EXERCISE_ONLY
        return NonDeliveryReason.NOT_EXERCISE_ENABLED
    if not clearance_permits(desk.clearance, envelope.label):
        return NonDeliveryReason.CLEARANCE_INSUFFICIENT
    if not releasable_to(envelope.label, desk.nation):
        return NonDeliveryReason.LABEL_NOT_RELEASABLE
    if not holds_categories(desk.categories, envelope.label):
        return NonDeliveryReason.CATEGORY_NOT_HELD
    if minimized(envelope, desk, precedence, minimize):
        return NonDeliveryReason.MINIMIZE
    return None


def minimized(
    envelope: Envelope, desk: Desk, precedence: Precedence, minimize: Iterable[MinimizeRule]
) -> bool:
    if envelope.minimize_considered or envelope.kind in MINIMIZE_EXEMPT:
        return False
    return any(desk.id in rule.scope and precedence.rank < rule.threshold.rank for rule in minimize)


def may_see(desk: Desk, label: SecurityLabel, traffic_type: TrafficType) -> bool:
    """Whether a desk other than the originator may be told about a message with this label
    (e.g. WATCH receiving an escalation): it must be cleared for the message itself."""
    return (
        desk.accepts(traffic_type)
        and clearance_permits(desk.clearance, label)
        and releasable_to(label, desk.nation)
        and holds_categories(desk.categories, label)
    )
