"""Deterministic identifiers: a replay derives the same ids, so it can never send twice.

Every message a service sends is named after what it is about; the router deduplicates on
(originator, message id), so a message re-sent after a crash is delivered once.
"""

from __future__ import annotations

import uuid

# Fixed namespace for the cell's derived ids (uuid5 of a random, published constant).
NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c7d-9e0f-a1b2c3d4e5f6")


def message_id(purpose: str, subject: str) -> uuid.UUID:
    """The id of the message the service sends for ``purpose`` about ``subject``."""
    return uuid.uuid5(NAMESPACE, f"{purpose}:{subject}")
