"""The body union: every kind, tagged by ``kind`` (``<family>.<name>.v<major>``)."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from schemas.kinds.alert import AttackAlert
from schemas.kinds.base import BodyBase, split_tag
from schemas.kinds.commission import BreachCase
from schemas.kinds.commission_actions import CaseAction
from schemas.kinds.control import Minimize
from schemas.kinds.liaison import LiaisonMessage
from schemas.kinds.monitoring import Incident, MonitoringReport
from schemas.kinds.notifications import (
    ActionRejected,
    DeliveryReport,
    Escalation,
    NonDeliveryReport,
    NonReceipt,
    OperationalAck,
    ReadReceipt,
)
from schemas.kinds.summary import SummaryRequest, ViolationSummary
from schemas.kinds.support import Consignment, Offer, RequestStatus, SupportRequest
from schemas.kinds.support_actions import RequestAction
from schemas.kinds.tasking import SitRep, TaskingOrder, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

Body = (
    LiaisonMessage
    | MonitoringReport
    | Incident
    | ViolationSummary
    | SummaryRequest
    | BreachCase
    | CaseAction
    | SupportRequest
    | Offer
    | Consignment
    | RequestAction
    | RequestStatus
    | TaskingOrder
    | TaskStatus
    | SitRep
    | AttackAlert
    | Minimize
    | DeliveryReport
    | NonDeliveryReport
    | ReadReceipt
    | OperationalAck
    | NonReceipt
    | Escalation
    | ActionRejected
)

BODY_TYPES: tuple[type[BodyBase], ...] = (
    LiaisonMessage,
    MonitoringReport,
    Incident,
    ViolationSummary,
    SummaryRequest,
    BreachCase,
    CaseAction,
    SupportRequest,
    Offer,
    Consignment,
    RequestAction,
    RequestStatus,
    TaskingOrder,
    TaskStatus,
    SitRep,
    AttackAlert,
    Minimize,
    DeliveryReport,
    NonDeliveryReport,
    ReadReceipt,
    OperationalAck,
    NonReceipt,
    Escalation,
    ActionRejected,
)


def tag_of(kind: type[BodyBase] | BodyBase) -> str:
    """The wire tag of a kind, e.g. ``liaison.message.v1``."""
    tag = kind.__struct_config__.tag
    if not isinstance(tag, str):  # every kind sets an explicit string tag
        raise TypeError(f"{kind!r} has no string tag")
    return tag


KINDS: Mapping[str, type[BodyBase]] = MappingProxyType({tag_of(t): t for t in BODY_TYPES})


def kind_and_version(body: BodyBase) -> tuple[str, int]:
    """``("liaison.message", 1)`` for a LiaisonMessage."""
    return split_tag(tag_of(body))
