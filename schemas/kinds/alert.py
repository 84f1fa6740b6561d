"""The armed attack alert: activates the binding commitments (DOMAIN §1, §7)."""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from typing import Annotated, ClassVar

from msgspec import Meta

from schemas.common import Area, EntityId, Nation, Text, UtcDatetime, invalid, require_utc
from schemas.kinds.base import BodyBase, EnvelopeFields
from schemas.precedence import Precedence


class AttackType(StrEnum):
    MISSILE = "MISSILE"
    AIR = "AIR"
    DRONE = "DRONE"
    ARTILLERY = "ARTILLERY"
    GROUND = "GROUND"
    MARITIME = "MARITIME"
    CYBER = "CYBER"
    COMBINED = "COMBINED"


class AlertStatus(StrEnum):
    """An alert is raised, then updated or stood down by further alerts with the same id."""

    ACTIVE = "ACTIVE"
    UPDATE = "UPDATE"
    STAND_DOWN = "STAND_DOWN"


class AttackAlert(BodyBase, frozen=True, kw_only=True, tag="alert.attack.v1"):
    """FLASH to ``ALL``; the originator must hold WATCH (checked by the router, not here)."""

    # Copied to the support domain: it opens the DEPOT_DRAW fast path there.
    family: ClassVar[str | None] = "support"

    alert_id: EntityId
    status: AlertStatus = AlertStatus.ACTIVE
    attack_type: AttackType
    detected_at: UtcDatetime
    affected_areas: Annotated[tuple[Area, ...], Meta(min_length=1, max_length=20)]
    attacking_party: Nation | None = None  # as assessed when known; attribution comes later
    description: Annotated[str, Meta(min_length=1, max_length=4000)]
    # Opens the DEPOT_DRAW fast path (VALIDATED -> AUTHORISED -> DRAWN -> DELIVERED at FLASH).
    depot_draw_authorised: bool = True
    instructions: Text = ""

    def entity_key(self) -> str:
        return self.alert_id

    def __post_init__(self) -> None:
        if self.detected_at.tzinfo is not UTC:
            require_utc(self, "detected_at")

    def check_envelope(self, envelope: EnvelopeFields) -> None:
        if envelope.primary_precedence is not Precedence.FLASH:
            raise invalid("primary_precedence", "must be FLASH for an attack alert")
        if tuple(envelope.action_to) != ("ALL",):
            raise invalid("action_to", "must be exactly ['ALL'] for an attack alert")
