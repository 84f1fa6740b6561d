"""The label of what the service derives from several reports: never lower than any source.

An incident (and the case opened from it) carries what its reports said, so its label takes
the highest classification among them, the nations every source releases to, and every
restrictive category. The originators' own labels are never rewritten (DOMAIN §4 rule 4).
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.labels import SecurityLabel, rel_to_order


def combine(labels: Sequence[SecurityLabel], *, fallback_nation: str) -> SecurityLabel:
    """Highest level, intersected releasability, united categories.

    When the sources release to no common nation, the result is releasable to
    ``fallback_nation`` (the service's own) only: better undelivered than leaked.
    """
    if not labels:
        raise ValueError("no labels to combine")
    top = max(labels, key=lambda label: (label.rank, label.policy.value))
    nations = set(labels[0].releasable_to)
    for label in labels[1:]:
        nations &= set(label.releasable_to)
    categories = sorted({c for label in labels for c in label.restrictive_categories})
    return SecurityLabel(
        policy=top.policy,
        classification=top.classification,
        releasable_to=tuple(rel_to_order(sorted(nations) or [fallback_nation])),
        restrictive_categories=tuple(categories),
        created_at=max(label.created_at for label in labels),
    )
