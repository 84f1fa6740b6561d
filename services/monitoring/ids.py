"""Deterministic incident and case ids: a replay derives the same ids, so it never opens twice.

An incident is named after the observation that seeded it; its breach case after the
incident. Message ids come from ``services.runtime.ids``.
"""

from __future__ import annotations

import uuid

from services.runtime.ids import NAMESPACE


def incident_id(report_message_id: uuid.UUID, observation_id: str) -> str:
    return "inc-" + uuid.uuid5(NAMESPACE, f"{report_message_id}/{observation_id}").hex[:20]


def case_id(incident: str) -> str:
    """The breach case opened for an incident: ``case-<incident id>``."""
    return f"case-{incident}"
