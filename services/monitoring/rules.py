"""Severity and breach rules for an incident, from its member observations and the zones.

Severity starts from the heaviest weapon reported, rises with casualties (injuries: at
least HIGH; deaths: CRITICAL) and with heavy weapons in a withdrawal zone (at least HIGH).
A breach rule that matches opens the incident's one breach case. Observations that are only
a party's allegation never open a case on their own: the mechanism must have seen something.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from msgspec import Struct

from schemas.kinds.monitoring import Casualties, EventType, Severity, WeaponCategory
from services.monitoring.records import Member

_W, _S, _E = WeaponCategory, Severity, EventType
WEAPON_SEVERITY: dict[WeaponCategory, Severity] = {
    _W.SMALL_ARMS: _S.LOW,
    _W.HEAVY_MACHINE_GUN: _S.LOW,
    _W.UNKNOWN: _S.LOW,
    _W.AUTOMATIC_GRENADE_LAUNCHER: _S.MODERATE,
    _W.ANTI_TANK_GUIDED_MISSILE: _S.MODERATE,
    _W.MORTAR: _S.MODERATE,
    _W.ARTILLERY_UNDER_100MM: _S.MODERATE,
    _W.UAV: _S.MODERATE,
    _W.TANK: _S.HIGH,
    _W.ARTILLERY_100MM_PLUS: _S.HIGH,
    _W.MLRS: _S.HIGH,
    _W.MISSILE: _S.HIGH,
    _W.AIRCRAFT: _S.HIGH,
}
# Weapons the withdrawal arrangements keep out of the zones.
HEAVY_WEAPONS = frozenset({_W.ARTILLERY_100MM_PLUS, _W.MLRS})
# Event types that describe one strike seen from different places; others only match their own.
STRIKE_EVENTS = frozenset(
    {_E.EXPLOSION, _E.IMPACT, _E.DRONE_STRIKE, _E.MISSILE_STRIKE, _E.AIR_STRIKE}
)
_RANK = {level: rank for rank, level in enumerate(Severity)}


class BreachRule(StrEnum):
    HEAVY_WEAPON_IN_WITHDRAWAL_ZONE = "HEAVY_WEAPON_IN_WITHDRAWAL_ZONE"
    STRIKE_WITH_CASUALTIES = "STRIKE_WITH_CASUALTIES"
    CORROBORATED = "CORROBORATED"


def event_class(event: EventType) -> str:
    """Observations correlate only within one class (an impact heard is an explosion seen)."""
    return "STRIKE" if event in STRIKE_EVENTS else event.value


def heaviest(weapons: Sequence[WeaponCategory]) -> WeaponCategory:
    order = list(WeaponCategory)
    known = [w for w in weapons if w is not _W.UNKNOWN]
    if not known:
        return _W.UNKNOWN
    return max(known, key=lambda w: (_RANK[WEAPON_SEVERITY[w]], order.index(w)))


def merge_casualties(members: Sequence[Member]) -> Casualties | None:
    """The largest count per field: observers report the same victims, so never add up."""
    reported = [m.casualties for m in members if m.casualties is not None]
    if not reported:
        return None
    reporters = {m.observer for m in members if m.casualties is not None}
    return Casualties(
        civilian_killed=max(c.civilian_killed for c in reported),
        civilian_injured=max(c.civilian_injured for c in reported),
        military_killed=max(c.military_killed for c in reported),
        military_injured=max(c.military_injured for c in reported),
        corroborated=any(c.corroborated for c in reported) or len(reporters) > 1,
    )


def _raise(level: Severity, floor: Severity) -> Severity:
    return level if _RANK[level] >= _RANK[floor] else floor


class Assessment(Struct, frozen=True, kw_only=True):
    severity: Severity
    weapon: WeaponCategory
    casualties: Casualties | None
    corroboration: int
    breach_rules: tuple[BreachRule, ...]


def assess(
    members: Sequence[Member],
    *,
    zone: str | None,
    corroboration_threshold: int,
) -> Assessment:
    """``zone``: the withdrawal zone the incident's location lies in, if any."""
    weapon = heaviest([m.weapon for m in members])
    casualties = merge_casualties(members)
    corroboration = len({m.observer for m in members})
    in_zone = zone is not None or any(m.origin_zone is not None for m in members)
    heavy_in_zone = in_zone and (
        weapon in HEAVY_WEAPONS
        or any(m.event_type is _E.HEAVY_WEAPON_IN_WITHDRAWAL_ZONE for m in members)
    )
    severity = WEAPON_SEVERITY[weapon]
    if heavy_in_zone:
        severity = _raise(severity, _S.HIGH)
    hurt = killed = 0
    if casualties is not None:
        killed = casualties.civilian_killed + casualties.military_killed
        hurt = killed + casualties.civilian_injured + casualties.military_injured
    if hurt:
        severity = _raise(severity, _S.HIGH)
    if killed:
        severity = Severity.CRITICAL
    rules: list[BreachRule] = []
    if any(not m.allegation for m in members):
        if heavy_in_zone:
            rules.append(BreachRule.HEAVY_WEAPON_IN_WITHDRAWAL_ZONE)
        if hurt and any(m.event_type in STRIKE_EVENTS for m in members):
            rules.append(BreachRule.STRIKE_WITH_CASUALTIES)
        if corroboration >= corroboration_threshold:
            rules.append(BreachRule.CORROBORATED)
    return Assessment(
        severity=severity,
        weapon=weapon,
        casualties=casualties,
        corroboration=corroboration,
        breach_rules=tuple(rules),
    )
