"""Security labels (ADatP-4774 style): policy, ordered classification, releasability.

Clearance model. A desk holds one clearance on a normalised scale (``Clearance``, rank 0..4).
Every classification of every policy maps onto that scale through the equivalence table in
``_POLICIES`` (after the NATO / bilateral security-agreement equivalences; where a national
level sits between two NATO levels it maps to the higher one, so the table can only
over-protect). ``clearance_permits`` compares ranks; releasability (nations, categories) is
checked separately because clearance alone never releases foreign-controlled information.
"""

# S105: level names such as "SECRET" are classification markings, not passwords.
# ruff: noqa: S105

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from typing import Annotated

from msgspec import Meta, Struct

from schemas.common import (
    KnownValid,
    ListedNation,
    UtcDatetime,
    invalid,
    require_nations,
    require_unique,
    require_utc,
    whole,
)


class Policy(StrEnum):
    """Who defines the classification scale: NATO, the coalition mission, or a nation."""

    NATO = "NATO"
    COALITION = "COALITION"
    USA = "USA"
    UKR = "UKR"
    GBR = "GBR"
    FRA = "FRA"


class Clearance(StrEnum):
    """The normalised scale every policy maps onto; a desk's clearance is one of these."""

    UNCLASSIFIED = "UNCLASSIFIED"
    RESTRICTED = "RESTRICTED"
    CONFIDENTIAL = "CONFIDENTIAL"
    SECRET = "SECRET"
    TOP_SECRET = "TOP_SECRET"

    @property
    def rank(self) -> int:
        return _CLEARANCE_RANK[self]


_CLEARANCE_RANK = {level: rank for rank, level in enumerate(Clearance)}


class Classification(StrEnum):
    """Every level name of every policy; which are valid depends on the label's policy."""

    NATO_UNCLASSIFIED = "NATO UNCLASSIFIED"
    NATO_RESTRICTED = "NATO RESTRICTED"
    NATO_CONFIDENTIAL = "NATO CONFIDENTIAL"
    NATO_SECRET = "NATO SECRET"
    COSMIC_TOP_SECRET = "COSMIC TOP SECRET"
    COALITION_UNCLASSIFIED = "COALITION UNCLASSIFIED"
    COALITION_RESTRICTED = "COALITION RESTRICTED"
    COALITION_CONFIDENTIAL = "COALITION CONFIDENTIAL"
    COALITION_SECRET = "COALITION SECRET"
    UNCLASSIFIED = "UNCLASSIFIED"
    OFFICIAL = "OFFICIAL"
    FOR_OFFICIAL_USE = "FOR OFFICIAL USE"
    DIFFUSION_RESTREINTE = "DIFFUSION RESTREINTE"
    CONFIDENTIAL = "CONFIDENTIAL"
    SECRET = "SECRET"
    TOP_SECRET = "TOP SECRET"
    TRES_SECRET = "TRÈS SECRET"
    OF_SPECIAL_IMPORTANCE = "OF SPECIAL IMPORTANCE"


_C = Classification
# policy -> its levels, lowest first, each with its rank on the normalised Clearance scale.
_POLICIES: dict[Policy, tuple[tuple[Classification, int], ...]] = {
    Policy.NATO: (
        (_C.NATO_UNCLASSIFIED, 0),
        (_C.NATO_RESTRICTED, 1),
        (_C.NATO_CONFIDENTIAL, 2),
        (_C.NATO_SECRET, 3),
        (_C.COSMIC_TOP_SECRET, 4),
    ),
    # Mission networks stop at SECRET; there is no coalition TOP SECRET.
    Policy.COALITION: (
        (_C.COALITION_UNCLASSIFIED, 0),
        (_C.COALITION_RESTRICTED, 1),
        (_C.COALITION_CONFIDENTIAL, 2),
        (_C.COALITION_SECRET, 3),
    ),
    Policy.USA: (
        (_C.UNCLASSIFIED, 0),
        (_C.CONFIDENTIAL, 2),
        (_C.SECRET, 3),
        (_C.TOP_SECRET, 4),
    ),
    # Ukraine: ДСК (for official use), таємно, цілком таємно, особливої важливості.
    Policy.UKR: (
        (_C.UNCLASSIFIED, 0),
        (_C.FOR_OFFICIAL_USE, 1),
        (_C.SECRET, 3),
        (_C.TOP_SECRET, 4),
        (_C.OF_SPECIAL_IMPORTANCE, 4),
    ),
    # UK Government Security Classifications: OFFICIAL(-SENSITIVE is a caveat, not a level).
    Policy.GBR: (
        (_C.OFFICIAL, 1),
        (_C.SECRET, 3),
        (_C.TOP_SECRET, 4),
    ),
    # France since 2021: Diffusion Restreinte (protective mention), Secret, Très Secret.
    Policy.FRA: (
        (_C.DIFFUSION_RESTREINTE, 1),
        (_C.SECRET, 3),
        (_C.TRES_SECRET, 4),
    ),
}
_RANKS: dict[tuple[Policy, Classification], int] = {
    (policy, level): rank for policy, levels in _POLICIES.items() for level, rank in levels
}
# policy -> its levels, for the label's membership test (no tuple built per decode).
_LEVELS: dict[Policy, frozenset[Classification]] = {
    policy: frozenset(level for level, _ in levels) for policy, levels in _POLICIES.items()
}
# Policies whose level names already say whose they are (NATO SECRET, COALITION SECRET).
_SELF_NAMED = frozenset({Policy.NATO, Policy.COALITION})

Category = Annotated[
    str,
    Meta(
        pattern=whole(r"[A-Z][A-Z0-9_-]{1,31}"),
        description="Restrictive category (e.g. ATOMAL, CRYPTO); the desk must hold it.",
    ),
]


def levels(policy: Policy) -> tuple[Classification, ...]:
    """The policy's classification levels, lowest first."""
    return tuple(level for level, _ in _POLICIES[policy])


def classification_rank(policy: Policy, classification: Classification) -> int:
    """Rank on the normalised scale; ``KeyError`` when the level is not the policy's."""
    return _RANKS[policy, classification]


# Markings already checked: (policy, classification, releasable_to, restrictive_categories).
MARKINGS = KnownValid()


class SecurityLabel(Struct, frozen=True, kw_only=True):
    """The originator's label. The cell never rewrites it (DOMAIN §4 rule 4)."""

    policy: Policy
    classification: Classification
    releasable_to: Annotated[tuple[ListedNation, ...], Meta(min_length=1, max_length=60)]
    restrictive_categories: Annotated[tuple[Category, ...], Meta(max_length=16)] = ()
    created_at: UtcDatetime

    def __post_init__(self) -> None:
        # Every message carries a label, most of them one of a few markings: a known one
        # costs one set lookup (its rules read only what the key holds).
        marking = (
            self.policy,
            self.classification,
            self.releasable_to,
            self.restrictive_categories,
        )
        if marking not in MARKINGS.values:
            self._check_marking()
            MARKINGS.remember(marking)
        if self.created_at.tzinfo is not UTC:
            require_utc(self, "created_at")

    def _check_marking(self) -> None:
        if self.classification not in _LEVELS[self.policy]:
            known = ", ".join(levels(self.policy))
            raise invalid(
                "classification",
                f"{self.classification.value!r} is not a level of policy {self.policy.value}"
                f" (known: {known})",
            )
        nations = self.releasable_to
        require_nations("releasable_to", nations)
        require_unique("releasable_to", nations)
        if self.restrictive_categories:
            require_unique("restrictive_categories", self.restrictive_categories)

    @property
    def rank(self) -> int:
        return _RANKS[self.policy, self.classification]


def clearance_permits(clearance: Clearance, label: SecurityLabel) -> bool:
    """Whether a desk cleared to ``clearance`` may read material at the label's level."""
    return clearance.rank >= label.rank


def releasable_to(label: SecurityLabel, nation: str) -> bool:
    return nation in label.releasable_to


def holds_categories(held: frozenset[str], label: SecurityLabel) -> bool:
    return all(category in held for category in label.restrictive_categories)


def rel_to_order(nations: tuple[str, ...] | list[str]) -> list[str]:
    """USA first, then alphabetical (the US marking convention the cell follows)."""
    return sorted(set(nations), key=lambda nation: (nation != "USA", nation))


def display_marking(label: SecurityLabel) -> str:
    """E.g. ``NATO RESTRICTED//REL TO USA, FRA, GBR, UKR`` or ``UKR SECRET//ATOMAL//REL TO …``."""
    level = label.classification.value
    if label.policy not in _SELF_NAMED:
        level = f"{label.policy.value} {level}"
    parts = [level]
    if label.restrictive_categories:
        parts.append("/".join(sorted(label.restrictive_categories)))
    parts.append("REL TO " + ", ".join(rel_to_order(label.releasable_to)))
    return "//".join(parts)
