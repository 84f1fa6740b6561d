"""Cooperation and liaison traffic: free text between any desks."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from msgspec import Meta

from schemas.common import AttachmentRef
from schemas.kinds.base import BodyBase


class LiaisonTopic(StrEnum):
    TRAINING = "TRAINING"
    JOINT_PRODUCTION = "JOINT_PRODUCTION"
    INTELLIGENCE_EXCHANGE = "INTELLIGENCE_EXCHANGE"
    COORDINATION = "COORDINATION"
    GENERAL = "GENERAL"


class LiaisonMessage(BodyBase, frozen=True, kw_only=True, tag="liaison.message.v1"):
    topic: LiaisonTopic = LiaisonTopic.GENERAL
    text: Annotated[str, Meta(min_length=1, max_length=20_000)]
    attachments: Annotated[tuple[AttachmentRef, ...], Meta(max_length=20)] = ()
