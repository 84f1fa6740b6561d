"""Special Commission case actions: one command per transition, carrying its data.

``CASE_TRANSITIONS`` is the lifecycle as data (action tag -> allowed from-states, to-state),
so the commission service and its tests share one definition.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, ClassVar

from msgspec import Meta, Struct

from schemas.common import (
    DeskId,
    EntityId,
    EvidenceRef,
    LocalId,
    Nation,
    ShortText,
    Text,
    Title,
    UtcDatetime,
    invalid,
    require_unique,
    require_utc,
)
from schemas.kinds.base import BodyBase
from schemas.kinds.commission import (
    OPEN_CASE_STATES,
    CaseState,
    ComplianceStatus,
    Determination,
    Finding,
    Remedy,
)


class CaseCommand(Struct, frozen=True, kw_only=True, tag_field="action"):
    """Base of the case commands; the ``action`` tag names the transition."""


class RegisterAllegation(CaseCommand, frozen=True, kw_only=True, tag="REGISTER_ALLEGATION"):
    title: Title
    incident_ids: Annotated[tuple[EntityId, ...], Meta(max_length=200)] = ()
    alleged_by: Nation | None = None  # None: raised by the monitoring mechanism itself
    respondents: Annotated[tuple[Nation, ...], Meta(min_length=1, max_length=10)]
    summary: Annotated[str, Meta(min_length=1, max_length=8000)]
    evidence: Annotated[tuple[EvidenceRef, ...], Meta(max_length=100)] = ()


class StartPreliminaryReview(CaseCommand, frozen=True, kw_only=True, tag="START_REVIEW"):
    rapporteur: DeskId


class RejectionGround(StrEnum):
    OUTSIDE_MANDATE = "OUTSIDE_MANDATE"
    INSUFFICIENT_INFORMATION = "INSUFFICIENT_INFORMATION"
    DUPLICATE = "DUPLICATE"
    MANIFESTLY_UNFOUNDED = "MANIFESTLY_UNFOUNDED"
    OTHER = "OTHER"


class RejectInadmissible(CaseCommand, frozen=True, kw_only=True, tag="REJECT_INADMISSIBLE"):
    ground: RejectionGround
    explanation: Annotated[str, Meta(min_length=1, max_length=4000)]


class OpenInvestigation(CaseCommand, frozen=True, kw_only=True, tag="OPEN_INVESTIGATION"):
    scope: Annotated[str, Meta(min_length=1, max_length=4000)]
    investigators: Annotated[tuple[DeskId, ...], Meta(min_length=1, max_length=20)]
    target_date: date | None = None


class SuspendInvestigation(CaseCommand, frozen=True, kw_only=True, tag="SUSPEND"):
    reason: Annotated[str, Meta(min_length=1, max_length=2000)]
    review_at: UtcDatetime | None = None

    def __post_init__(self) -> None:
        require_utc(self, "review_at")


class ResumeInvestigation(CaseCommand, frozen=True, kw_only=True, tag="RESUME"):
    note: ShortText = ""


class DraftFindings(CaseCommand, frozen=True, kw_only=True, tag="DRAFT_FINDINGS"):
    findings: Annotated[tuple[Finding, ...], Meta(min_length=1, max_length=200)]

    def __post_init__(self) -> None:
        require_unique("findings", [f.finding_id for f in self.findings])


class SubmitForReview(CaseCommand, frozen=True, kw_only=True, tag="SUBMIT_FOR_REVIEW"):
    session_at: UtcDatetime | None = None  # scheduled Commission session

    def __post_init__(self) -> None:
        require_utc(self, "session_at")


class RecordDetermination(CaseCommand, frozen=True, kw_only=True, tag="DETERMINE"):
    determination: Determination


class IssueRemedies(CaseCommand, frozen=True, kw_only=True, tag="ISSUE_REMEDIES"):
    remedies: Annotated[tuple[Remedy, ...], Meta(min_length=1, max_length=100)]

    def __post_init__(self) -> None:
        require_unique("remedies", [r.remedy_id for r in self.remedies])


class ComplianceUpdate(Struct, frozen=True, kw_only=True):
    remedy_id: LocalId
    status: ComplianceStatus
    note: ShortText = ""
    evidence: Annotated[tuple[EvidenceRef, ...], Meta(max_length=50)] = ()


class UpdateCompliance(CaseCommand, frozen=True, kw_only=True, tag="UPDATE_COMPLIANCE"):
    """The first update moves REMEDIES_ISSUED to COMPLIANCE_MONITORING."""

    updates: Annotated[tuple[ComplianceUpdate, ...], Meta(min_length=1, max_length=100)]

    def __post_init__(self) -> None:
        require_unique("updates", [u.remedy_id for u in self.updates])


class CloseCase(CaseCommand, frozen=True, kw_only=True, tag="CLOSE"):
    closure_note: Annotated[str, Meta(min_length=1, max_length=4000)]


class MergeCase(CaseCommand, frozen=True, kw_only=True, tag="MERGE"):
    into_case_id: EntityId


class WithdrawCase(CaseCommand, frozen=True, kw_only=True, tag="WITHDRAW"):
    reason: Annotated[str, Meta(min_length=1, max_length=2000)]


CaseCommandUnion = (
    RegisterAllegation
    | StartPreliminaryReview
    | RejectInadmissible
    | OpenInvestigation
    | SuspendInvestigation
    | ResumeInvestigation
    | DraftFindings
    | SubmitForReview
    | RecordDetermination
    | IssueRemedies
    | UpdateCompliance
    | CloseCase
    | MergeCase
    | WithdrawCase
)


class CaseAction(BodyBase, frozen=True, kw_only=True, tag="commission.action.v1"):
    """A command on one case, from a COMMISSION desk (the router checks the role)."""

    family: ClassVar[str | None] = "commission"

    case_id: EntityId
    # Optimistic concurrency: the case version the member acted on; None to skip the check.
    expected_version: Annotated[int, Meta(ge=0)] | None = None
    command: CaseCommandUnion
    rationale: Text = ""

    def __post_init__(self) -> None:
        merge = self.command
        if isinstance(merge, MergeCase) and merge.into_case_id == self.case_id:
            raise invalid("command", "cannot merge a case into itself")

    def entity_key(self) -> str:
        return self.case_id


_S = CaseState
_INVESTIGATING = frozenset({_S.UNDER_INVESTIGATION})
# action tag -> (states it may be applied in, resulting state). None: the case does not exist.
CASE_TRANSITIONS: MappingProxyType[str, tuple[frozenset[CaseState | None], CaseState]] = (
    MappingProxyType(
        {
            "REGISTER_ALLEGATION": (frozenset({None}), _S.ALLEGED),
            "START_REVIEW": (frozenset({_S.ALLEGED}), _S.PRELIMINARY_REVIEW),
            "REJECT_INADMISSIBLE": (
                frozenset({_S.PRELIMINARY_REVIEW}),
                _S.REJECTED_INADMISSIBLE,
            ),
            "OPEN_INVESTIGATION": (frozenset({_S.PRELIMINARY_REVIEW}), _S.UNDER_INVESTIGATION),
            "SUSPEND": (_INVESTIGATING, _S.SUSPENDED),
            "RESUME": (frozenset({_S.SUSPENDED}), _S.UNDER_INVESTIGATION),
            "DRAFT_FINDINGS": (_INVESTIGATING, _S.FINDINGS_DRAFTED),
            "SUBMIT_FOR_REVIEW": (frozenset({_S.FINDINGS_DRAFTED}), _S.COMMISSION_REVIEW),
            "DETERMINE": (frozenset({_S.COMMISSION_REVIEW}), _S.DETERMINED),
            "ISSUE_REMEDIES": (frozenset({_S.DETERMINED}), _S.REMEDIES_ISSUED),
            "UPDATE_COMPLIANCE": (
                frozenset({_S.REMEDIES_ISSUED, _S.COMPLIANCE_MONITORING}),
                _S.COMPLIANCE_MONITORING,
            ),
            # DETERMINED -> CLOSED: nothing to remedy (no violation, or undetermined).
            "CLOSE": (frozenset({_S.DETERMINED, _S.COMPLIANCE_MONITORING}), _S.CLOSED),
            "MERGE": (frozenset(OPEN_CASE_STATES), _S.MERGED),
            "WITHDRAW": (frozenset(OPEN_CASE_STATES), _S.WITHDRAWN),
        }
    )
)
