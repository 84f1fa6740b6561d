"""The Special Commission's breach cases: state, findings, determination, remedies."""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
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


class CaseState(StrEnum):
    ALLEGED = "ALLEGED"
    PRELIMINARY_REVIEW = "PRELIMINARY_REVIEW"
    UNDER_INVESTIGATION = "UNDER_INVESTIGATION"
    SUSPENDED = "SUSPENDED"
    FINDINGS_DRAFTED = "FINDINGS_DRAFTED"
    COMMISSION_REVIEW = "COMMISSION_REVIEW"
    DETERMINED = "DETERMINED"
    REMEDIES_ISSUED = "REMEDIES_ISSUED"
    COMPLIANCE_MONITORING = "COMPLIANCE_MONITORING"
    CLOSED = "CLOSED"
    MERGED = "MERGED"
    WITHDRAWN = "WITHDRAWN"
    REJECTED_INADMISSIBLE = "REJECTED_INADMISSIBLE"


TERMINAL_CASE_STATES = frozenset(
    {CaseState.CLOSED, CaseState.MERGED, CaseState.WITHDRAWN, CaseState.REJECTED_INADMISSIBLE}
)
OPEN_CASE_STATES = frozenset(CaseState) - TERMINAL_CASE_STATES


class Finding(Struct, frozen=True, kw_only=True):
    finding_id: LocalId
    statement: Annotated[str, Meta(min_length=1, max_length=4000)]
    incident_ids: Annotated[tuple[EntityId, ...], Meta(max_length=100)] = ()
    evidence: Annotated[tuple[EvidenceRef, ...], Meta(max_length=100)] = ()


class Outcome(StrEnum):
    VIOLATION_CONFIRMED = "VIOLATION_CONFIRMED"
    NO_VIOLATION = "NO_VIOLATION"
    UNABLE_TO_DETERMINE = "UNABLE_TO_DETERMINE"


class Responsibility(StrEnum):
    RESPONSIBLE = "RESPONSIBLE"
    NOT_RESPONSIBLE = "NOT_RESPONSIBLE"
    UNDETERMINED = "UNDETERMINED"


class AttributionConfidence(StrEnum):
    """Estimative language: how sure the Commission is of an attribution."""

    LOW = "LOW"
    MODERATE = "MODERATE"
    HIGH = "HIGH"


class Attribution(Struct, frozen=True, kw_only=True):
    party: Nation  # a party to the ceasefire
    responsibility: Responsibility
    confidence: AttributionConfidence
    reasoning: Text = ""


class Dissent(Struct, frozen=True, kw_only=True):
    """A member's recorded disagreement; kept with the determination, never dropped."""

    member: DeskId
    statement: Annotated[str, Meta(min_length=1, max_length=4000)]


class Votes(Struct, frozen=True, kw_only=True):
    in_favour: Annotated[int, Meta(ge=0, le=100)]
    against: Annotated[int, Meta(ge=0, le=100)] = 0
    abstaining: Annotated[int, Meta(ge=0, le=100)] = 0


class Determination(Struct, frozen=True, kw_only=True):
    outcome: Outcome
    attributions: Annotated[tuple[Attribution, ...], Meta(max_length=10)] = ()
    votes: Votes | None = None
    dissents: Annotated[tuple[Dissent, ...], Meta(max_length=50)] = ()
    reasoning: Annotated[str, Meta(min_length=1, max_length=20_000)]
    determined_at: UtcDatetime

    def __post_init__(self) -> None:
        if self.determined_at.tzinfo is not UTC:
            require_utc(self, "determined_at")
        require_unique("attributions", [a.party for a in self.attributions])
        if self.outcome is not Outcome.VIOLATION_CONFIRMED and any(
            a.responsibility is Responsibility.RESPONSIBLE for a in self.attributions
        ):
            raise invalid("attributions", "hold a party RESPONSIBLE without a confirmed violation")


class RemedyType(StrEnum):
    CEASE_ACTIVITY = "CEASE_ACTIVITY"
    WITHDRAW_WEAPONS = "WITHDRAW_WEAPONS"
    RESTORE_ACCESS = "RESTORE_ACCESS"
    REPAIR = "REPAIR"
    COMPENSATE = "COMPENSATE"
    ENHANCED_MONITORING = "ENHANCED_MONITORING"
    REFERRAL_TO_GUARANTORS = "REFERRAL_TO_GUARANTORS"
    OTHER = "OTHER"


class ComplianceStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLIED = "COMPLIED"
    PARTIALLY_COMPLIED = "PARTIALLY_COMPLIED"
    NOT_COMPLIED = "NOT_COMPLIED"
    WAIVED = "WAIVED"


class Remedy(Struct, frozen=True, kw_only=True):
    remedy_id: LocalId
    remedy_type: RemedyType
    addressed_to: Nation
    description: Annotated[str, Meta(min_length=1, max_length=4000)]
    due_at: UtcDatetime
    compliance: ComplianceStatus = ComplianceStatus.PENDING

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is not UTC:
            require_utc(self, "due_at")


class BreachCase(BodyBase, frozen=True, kw_only=True, tag="commission.case.v1"):
    """A case as the commission service publishes it after every accepted action."""

    family: ClassVar[str | None] = "commission"

    case_id: EntityId
    version: Annotated[int, Meta(ge=1)]  # bumps with each accepted action
    state: CaseState
    title: Title
    incident_ids: Annotated[tuple[EntityId, ...], Meta(max_length=200)] = ()
    alleged_by: Nation | None = None
    respondents: Annotated[tuple[Nation, ...], Meta(max_length=10)] = ()
    rapporteur: DeskId | None = None
    opened_at: UtcDatetime
    updated_at: UtcDatetime
    findings: Annotated[tuple[Finding, ...], Meta(max_length=200)] = ()
    determination: Determination | None = None
    remedies: Annotated[tuple[Remedy, ...], Meta(max_length=100)] = ()
    merged_into: EntityId | None = None
    note: ShortText = ""

    def __post_init__(self) -> None:
        if self.opened_at.tzinfo is not UTC or self.updated_at.tzinfo is not UTC:
            require_utc(self, "opened_at", "updated_at")
        if self.updated_at < self.opened_at:
            raise invalid("updated_at", "must not be before `opened_at`")
        if (self.state is CaseState.MERGED) != (self.merged_into is not None):
            raise invalid("merged_into", "is required for, and only for, MERGED")
        require_unique("remedies", [r.remedy_id for r in self.remedies])
        require_unique("findings", [f.finding_id for f in self.findings])

    def entity_key(self) -> str:
        return self.case_id
