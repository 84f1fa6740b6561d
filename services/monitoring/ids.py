"""Deterministic identifiers: a replay derives the same ids, so it can never open twice.

An incident is named after the observation that seeded it; its breach case after the
incident; every message the service sends after what it is about. The router deduplicates
on (originator, message id), so a message re-sent after a crash is delivered once.
"""

from __future__ import annotations

import uuid

# Fixed namespace for the cell's derived ids (uuid5 of a random, published constant).
NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c7d-9e0f-a1b2c3d4e5f6")


def incident_id(report_message_id: uuid.UUID, observation_id: str) -> str:
    return "inc-" + uuid.uuid5(NAMESPACE, f"{report_message_id}/{observation_id}").hex[:20]


def case_id(incident: str) -> str:
    """The breach case opened for an incident: ``case-<incident id>``."""
    return f"case-{incident}"


def message_id(purpose: str, subject: str) -> uuid.UUID:
    """The id of the message the service sends for ``purpose`` about ``subject``."""
    return uuid.uuid5(NAMESPACE, f"{purpose}:{subject}")
