"""The base every body kind inherits: the ``kind`` tag and the envelope-rule hook.

Tag scheme: ``<family>.<name>.v<major>``, e.g. ``liaison.message.v1``. Compatible changes
keep the tag (see EVOLUTION.md); an incompatible one is a new struct with the next major.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from msgspec import Struct

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from schemas.common import TrafficType
    from schemas.precedence import Precedence


class EnvelopeFields(Protocol):
    """What a body may check about the envelope carrying it (Envelope and Submission)."""

    @property
    def traffic_type(self) -> TrafficType: ...
    @property
    def action_to(self) -> tuple[str, ...]: ...
    @property
    def info_to(self) -> tuple[str, ...]: ...
    @property
    def primary_precedence(self) -> Precedence: ...
    @property
    def ack_required(self) -> bool: ...
    @property
    def supersedes(self) -> UUID | None: ...
    @property
    def created_at(self) -> datetime | None: ...


class BodyBase(Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base of every kind. Subclasses set ``tag="<family>.<name>.v<major>"``."""

    # The domain topic family a kind is copied to by the router (None: inbox traffic only).
    family: ClassVar[str | None] = None

    def check_envelope(self, envelope: EnvelopeFields) -> None:
        """Cross-field rules between this body and its envelope; raise ``ValueError``."""

    def entity_key(self) -> str | None:
        """The entity (case, request, order, incident…) this message is about, if any.

        Domain and state topics key by it so one entity's events stay in order.
        """
        return None


def split_tag(tag: str) -> tuple[str, int]:
    """``"monitoring.report.v1"`` -> ``("monitoring.report", 1)``."""
    kind, _, version = tag.rpartition(".v")
    if not kind or not version.isdigit():
        raise ValueError(f"not a versioned kind tag: {tag!r}")
    return kind, int(version)
