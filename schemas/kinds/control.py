"""Cell control traffic issued by WATCH."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from msgspec import Meta

from schemas.addresses import AddressStr
from schemas.common import EntityId, ShortText, UtcDatetime, invalid, require_utc
from schemas.kinds.base import BodyBase
from schemas.precedence import Precedence


class MinimizeStatus(StrEnum):
    IMPOSED = "IMPOSED"
    LIFTED = "LIFTED"


class Minimize(BodyBase, frozen=True, kw_only=True, tag="control.minimize.v1"):
    """MINIMIZE (ACP 121): while imposed, traffic to ``scope`` below ``threshold`` is refused
    unless its originator set ``minimize_considered`` on the envelope."""

    minimize_id: EntityId
    status: MinimizeStatus
    scope: Annotated[tuple[AddressStr, ...], Meta(min_length=1, max_length=50)]
    threshold: Precedence = Precedence.IMMEDIATE
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]
    until: UtcDatetime | None = None
    remarks: ShortText = ""

    def entity_key(self) -> str:
        return self.minimize_id

    def __post_init__(self) -> None:
        require_utc(self, "until")
        if self.status is MinimizeStatus.LIFTED and self.until is not None:
            raise invalid("until", "makes no sense when lifting MINIMIZE")
