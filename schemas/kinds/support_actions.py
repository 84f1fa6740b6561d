"""Commands on a support request. MATCHED / PARTIALLY_MATCHED and IN_DELIVERY are not
commands: the support service derives them from offers and consignments."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, ClassVar

from msgspec import Meta, Struct

from schemas.addresses import AddressStr
from schemas.common import EntityId, ShortText, Text, invalid
from schemas.kinds.base import BodyBase
from schemas.kinds.support import (
    TERMINAL_REQUEST_STATES,
    ConsignmentLine,
    LineNo,
    RequestState,
    check_lines,
)


class RequestCommand(Struct, frozen=True, kw_only=True, tag_field="action"):
    """Base of the request commands; the ``action`` tag names the transition."""


class Acknowledge(RequestCommand, frozen=True, kw_only=True, tag="ACKNOWLEDGE"):
    note: ShortText = ""


class Validate(RequestCommand, frozen=True, kw_only=True, tag="VALIDATE"):
    note: ShortText = ""


class RequestRejectionReason(StrEnum):
    OUTSIDE_SCOPE = "OUTSIDE_SCOPE"
    DUPLICATE = "DUPLICATE"
    NOT_FEASIBLE = "NOT_FEASIBLE"
    EXPORT_CONTROL = "EXPORT_CONTROL"
    OTHER = "OTHER"


class Reject(RequestCommand, frozen=True, kw_only=True, tag="REJECT"):
    reason: RequestRejectionReason
    explanation: Annotated[str, Meta(min_length=1, max_length=4000)]


class ReturnForClarification(RequestCommand, frozen=True, kw_only=True, tag="RETURN"):
    questions: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=1000)], ...],
        Meta(min_length=1, max_length=50),
    ]


class Clarify(RequestCommand, frozen=True, kw_only=True, tag="CLARIFY"):
    """The requester's answers; the request goes back to SUBMITTED."""

    answers: Annotated[str, Meta(min_length=1, max_length=8000)]
    amended_request: EntityId | None = None  # a superseding SupportRequest, if lines changed


class StartSourcing(RequestCommand, frozen=True, kw_only=True, tag="START_SOURCING"):
    solicit: Annotated[tuple[AddressStr, ...], Meta(min_length=1, max_length=100)]


class CommitOffers(RequestCommand, frozen=True, kw_only=True, tag="COMMIT"):
    offer_ids: Annotated[tuple[EntityId, ...], Meta(min_length=1, max_length=100)]


class ConfirmDelivery(RequestCommand, frozen=True, kw_only=True, tag="CONFIRM_DELIVERY"):
    consignment_id: EntityId
    received: Annotated[tuple[ConsignmentLine, ...], Meta(min_length=1, max_length=200)]
    discrepancies: ShortText = ""

    def __post_init__(self) -> None:
        check_lines("received", [line.line_no for line in self.received])


class Close(RequestCommand, frozen=True, kw_only=True, tag="CLOSE"):
    note: ShortText = ""


class Cancel(RequestCommand, frozen=True, kw_only=True, tag="CANCEL"):
    reason: Annotated[str, Meta(min_length=1, max_length=2000)]


class Supersede(RequestCommand, frozen=True, kw_only=True, tag="SUPERSEDE"):
    by_request_id: EntityId


class WithdrawOffer(RequestCommand, frozen=True, kw_only=True, tag="WITHDRAW_OFFER"):
    """A donor takes back its own open offer before commitment: the lines named, or all."""

    offer_id: EntityId
    line_nos: Annotated[tuple[LineNo, ...], Meta(max_length=200)] = ()  # () = the whole offer
    reason: ShortText = ""

    def __post_init__(self) -> None:
        check_lines("line_nos", list(self.line_nos))


class AuthoriseDraw(RequestCommand, frozen=True, kw_only=True, tag="AUTHORISE_DRAW"):
    authority: Annotated[str, Meta(min_length=1, max_length=200)]  # who authorised, by what


class RecordDraw(RequestCommand, frozen=True, kw_only=True, tag="RECORD_DRAW"):
    drawn: Annotated[tuple[ConsignmentLine, ...], Meta(min_length=1, max_length=200)]

    def __post_init__(self) -> None:
        check_lines("drawn", [line.line_no for line in self.drawn])


RequestCommandUnion = (
    Acknowledge
    | Validate
    | Reject
    | ReturnForClarification
    | Clarify
    | StartSourcing
    | CommitOffers
    | ConfirmDelivery
    | Close
    | Cancel
    | Supersede
    | WithdrawOffer
    | AuthoriseDraw
    | RecordDraw
)


class RequestAction(BodyBase, frozen=True, kw_only=True, tag="support.action.v1"):
    family: ClassVar[str | None] = "support"

    request_id: EntityId
    expected_version: Annotated[int, Meta(ge=0)] | None = None
    command: RequestCommandUnion
    rationale: Text = ""

    def __post_init__(self) -> None:
        command = self.command
        if isinstance(command, Supersede) and command.by_request_id == self.request_id:
            raise invalid("command", "cannot supersede a request by itself")

    def entity_key(self) -> str:
        return self.request_id


_R = RequestState
_OPEN = frozenset(_R) - TERMINAL_REQUEST_STATES
# action tag -> (states it may be applied in, resulting state).
REQUEST_TRANSITIONS: MappingProxyType[str, tuple[frozenset[RequestState], RequestState]] = (
    MappingProxyType(
        {
            "ACKNOWLEDGE": (frozenset({_R.SUBMITTED}), _R.ACKNOWLEDGED),
            "VALIDATE": (frozenset({_R.ACKNOWLEDGED}), _R.VALIDATED),
            "REJECT": (frozenset({_R.ACKNOWLEDGED}), _R.REJECTED),
            "RETURN": (frozenset({_R.ACKNOWLEDGED}), _R.RETURNED_FOR_CLARIFICATION),
            "CLARIFY": (frozenset({_R.RETURNED_FOR_CLARIFICATION}), _R.SUBMITTED),
            "START_SOURCING": (frozenset({_R.VALIDATED}), _R.SOURCING),
            "COMMIT": (frozenset({_R.PARTIALLY_MATCHED, _R.MATCHED}), _R.COMMITTED),
            "CONFIRM_DELIVERY": (frozenset({_R.IN_DELIVERY, _R.DRAWN}), _R.DELIVERED),
            "CLOSE": (frozenset({_R.DELIVERED}), _R.CLOSED),
            "CANCEL": (_OPEN, _R.CANCELLED),
            "SUPERSEDE": (_OPEN, _R.SUPERSEDED),
            # Offers are withdrawn while the request is sourced; matching is re-derived.
            "WITHDRAW_OFFER": (
                frozenset({_R.SOURCING, _R.PARTIALLY_MATCHED, _R.MATCHED}),
                _R.SOURCING,
            ),
            # DEPOT_DRAW fast path after an attack alert: VALIDATED -> AUTHORISED -> DRAWN.
            "AUTHORISE_DRAW": (frozenset({_R.VALIDATED}), _R.AUTHORISED),
            "RECORD_DRAW": (frozenset({_R.AUTHORISED}), _R.DRAWN),
        }
    )
)
