"""The BreachCase state machine (DOMAIN §7): who may act, which transition, what it records.

``decide`` is pure: given the case as it stands (None if unknown), the action, its sender
and the desk registry, it returns the next record or a refusal naming the reason. The
transition table is ``schemas.kinds.commission_actions.CASE_TRANSITIONS``; this module adds
the rules the table cannot say (membership, references, what a closure requires).

Authority: every action needs a COMMISSION desk, except that the monitoring mechanism (a
desk holding both SERVICE and MONITOR) may register an allegation: that is how a breach the
mechanism detected reaches the Commission.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from msgspec import Struct, structs

from schemas.common import TrafficType
from schemas.desks import DeskRegistry
from schemas.kinds.commission import (
    BreachCase,
    CaseState,
    ComplianceStatus,
    Outcome,
)
from schemas.kinds.commission_actions import (
    CASE_TRANSITIONS,
    CaseAction,
    DraftFindings,
    IssueRemedies,
    MergeCase,
    OpenInvestigation,
    RecordDetermination,
    RegisterAllegation,
    StartPreliminaryReview,
    UpdateCompliance,
)
from schemas.kinds.notifications import RejectionCode
from schemas.labels import SecurityLabel
from schemas.roles import Role
from services.commission.state import CaseRecord, HistoryEntry, MemberPosition

OPEN_COMPLIANCE = frozenset({ComplianceStatus.PENDING, ComplianceStatus.IN_PROGRESS})


class Refused(Struct, frozen=True, kw_only=True):
    code: RejectionCode
    detail: str
    current_state: CaseState | None = None


class Sender(Struct, frozen=True, kw_only=True):
    desk_id: str
    message_id: UUID
    label: SecurityLabel
    traffic_type: TrafficType


def tag(action: CaseAction) -> str:
    return type(action.command).__struct_config__.tag  # type: ignore[return-value]


def _authorised(registry: DeskRegistry, desk_id: str, action: CaseAction) -> bool:
    desk = registry.get(desk_id)
    if desk is None:
        return False
    if Role.COMMISSION in desk.roles:
        return True
    return (
        isinstance(action.command, RegisterAllegation)
        and {Role.SERVICE, Role.MONITOR} <= desk.roles
    )


def decide(  # noqa: PLR0911 - one return per rule, in the rules' order
    record: CaseRecord | None,
    action: CaseAction,
    *,
    sender: Sender,
    registry: DeskRegistry,
    now: datetime,
    lookup: Callable[[str], CaseRecord | None],
) -> CaseRecord | Refused:
    name = tag(action)
    state = record.case.state if record is not None else None
    if not _authorised(registry, sender.desk_id, action):
        return Refused(
            code=RejectionCode.NOT_AUTHORISED,
            detail=f"{sender.desk_id} is not a Special Commission member; {name} refused",
            current_state=state,
        )
    if record is None and name != "REGISTER_ALLEGATION":
        return Refused(code=RejectionCode.UNKNOWN_ENTITY, detail=f"no case {action.case_id}")
    if record is not None and name == "REGISTER_ALLEGATION":
        return Refused(
            code=RejectionCode.DUPLICATE_ENTITY,
            detail=f"case {action.case_id} is already registered",
            current_state=state,
        )
    if (
        record is not None
        and action.expected_version is not None
        and action.expected_version != record.case.version
    ):
        return Refused(
            code=RejectionCode.VERSION_CONFLICT,
            detail=f"acted on version {action.expected_version}, case is at {record.case.version}",
            current_state=state,
        )
    allowed, target = CASE_TRANSITIONS[name]
    if state not in allowed:
        return Refused(
            code=RejectionCode.INVALID_TRANSITION,
            detail=f"{name} is not allowed in state {state}",
            current_state=state,
        )
    problem = _check_references(action, registry, lookup) or _check_case(record, action)
    if problem is not None:
        return Refused(code=problem[0], detail=problem[1], current_state=state)
    return _apply(record, action, sender, target, now)


def _check_references(
    action: CaseAction,
    registry: DeskRegistry,
    lookup: Callable[[str], CaseRecord | None],
) -> tuple[RejectionCode, str] | None:
    command = action.command
    members = {d.id for d in registry.with_role(Role.COMMISSION)}
    bad_ref = RejectionCode.INVALID_REFERENCE
    if isinstance(command, StartPreliminaryReview) and command.rapporteur not in members:
        return bad_ref, f"rapporteur {command.rapporteur} is not a Commission member"
    if isinstance(command, OpenInvestigation):
        unknown = [d for d in command.investigators if d not in registry]
        if unknown:
            return bad_ref, f"unknown investigator desk(s): {', '.join(unknown)}"
    if isinstance(command, RecordDetermination):
        outsiders = [d.member for d in command.determination.dissents if d.member not in members]
        if outsiders:
            return bad_ref, f"dissent by non-member(s): {', '.join(outsiders)}"
    if isinstance(command, MergeCase):
        target = lookup(command.into_case_id)
        if target is None or target.case.state not in CASE_TRANSITIONS["MERGE"][0]:
            return bad_ref, f"cannot merge into {command.into_case_id}: unknown or not open"
    return None


def _check_case(record: CaseRecord | None, action: CaseAction) -> tuple[RejectionCode, str] | None:
    if record is None:
        return None
    command, case, bad_ref = action.command, record.case, RejectionCode.INVALID_REFERENCE
    if isinstance(command, UpdateCompliance):
        known = {r.remedy_id for r in case.remedies}
        unknown = [u.remedy_id for u in command.updates if u.remedy_id not in known]
        if unknown:
            return bad_ref, f"unknown remedy id(s): {', '.join(unknown)}"
    if tag(action) == "CLOSE":
        determination = case.determination
        if (
            case.state is CaseState.DETERMINED
            and determination is not None
            and determination.outcome is Outcome.VIOLATION_CONFIRMED
        ):
            return (
                RejectionCode.INVALID_TRANSITION,
                "a confirmed violation is closed only after remedies and compliance",
            )
        open_remedies = [r.remedy_id for r in case.remedies if r.compliance in OPEN_COMPLIANCE]
        if open_remedies:
            return (
                RejectionCode.INVALID_TRANSITION,
                f"remedies still open: {', '.join(open_remedies)}",
            )
    return None


def _apply(
    record: CaseRecord | None,
    action: CaseAction,
    sender: Sender,
    target: CaseState,
    now: datetime,
) -> CaseRecord:
    command = action.command
    name = tag(action)
    if record is None:
        if not isinstance(command, RegisterAllegation):
            raise TypeError("only REGISTER_ALLEGATION creates a case")
        case = BreachCase(
            case_id=action.case_id,
            version=1,
            state=target,
            title=command.title,
            incident_ids=command.incident_ids,
            alleged_by=command.alleged_by,
            respondents=command.respondents,
            opened_at=now,
            updated_at=now,
            note=command.summary[:1000],
        )
        label, traffic = sender.label, sender.traffic_type
        history: tuple[HistoryEntry, ...] = ()
        positions: tuple[MemberPosition, ...] = ()
    else:
        case = _transform(record.case, action, target, now)
        label, traffic = record.label, record.traffic_type
        history, positions = record.history, record.positions
    statement = action.rationale or _statement(action)
    entry = HistoryEntry(
        message_id=sender.message_id,
        action=name,
        actor=sender.desk_id,
        at=now,
        from_state=record.case.state if record is not None else None,
        to_state=case.state,
        version=case.version,
        rationale=statement,
    )
    stances = {p.member: p for p in positions}
    stances[sender.desk_id] = MemberPosition(
        member=sender.desk_id, position=name, statement=statement, at=now, version=case.version
    )
    if isinstance(command, RecordDetermination):
        for dissent in command.determination.dissents:
            stances[dissent.member] = MemberPosition(
                member=dissent.member,
                position="DISSENT",
                statement=dissent.statement,
                at=now,
                version=case.version,
            )
    return CaseRecord(
        case=case,
        label=label,
        traffic_type=traffic,
        history=(*history, entry),
        positions=tuple(sorted(stances.values(), key=lambda p: p.member)),
        overdue_alerted=record.overdue_alerted if record is not None else (),
    )


def _transform(
    case: BreachCase, action: CaseAction, target: CaseState, now: datetime
) -> BreachCase:
    command = action.command
    changes: dict[str, object] = {
        "state": target,
        "version": case.version + 1,
        "updated_at": max(now, case.opened_at),
    }
    if isinstance(command, StartPreliminaryReview):
        changes["rapporteur"] = command.rapporteur
    elif isinstance(command, DraftFindings):
        changes["findings"] = command.findings
    elif isinstance(command, RecordDetermination):
        changes["determination"] = command.determination
    elif isinstance(command, IssueRemedies):
        changes["remedies"] = command.remedies
    elif isinstance(command, UpdateCompliance):
        updates = {u.remedy_id: u.status for u in command.updates}
        changes["remedies"] = tuple(
            structs.replace(r, compliance=updates.get(r.remedy_id, r.compliance))
            for r in case.remedies
        )
    elif isinstance(command, MergeCase):
        changes["merged_into"] = command.into_case_id
    return structs.replace(case, **changes)


def _statement(action: CaseAction) -> str:
    command = action.command
    for field in ("reason", "explanation", "closure_note", "scope", "note"):
        value = getattr(command, field, None)
        if isinstance(value, str) and value:
            return value[:1000]
    return ""
