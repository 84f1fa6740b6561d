"""Commission pure logic: the BreachCase lifecycle, authority, positions, remedies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain_builders import DEMO as REGISTRY
from domain_builders import M1, M2, M3, allegation, case_action, determination, remedies

from schemas import codec
from schemas.envelope import Envelope
from schemas.kinds.commission import BreachCase, CaseState, ComplianceStatus, Finding
from schemas.kinds.commission_actions import (
    CaseAction,
    CaseCommandUnion,
    CloseCase,
    ComplianceUpdate,
    DraftFindings,
    IssueRemedies,
    OpenInvestigation,
    RecordDetermination,
    StartPreliminaryReview,
    SubmitForReview,
    UpdateCompliance,
)
from schemas.kinds.notifications import ActionRejected, Escalation, RejectionCode
from schemas.precedence import Precedence
from services.commission.service import CommissionService
from services.runtime.outbox import Output, ServiceDesk

NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
CASE = "case-inc-0001"


def service() -> CommissionService:
    return CommissionService(ServiceDesk(desk_id="svc.commission", prefix="tunit."), REGISTRY)


def act(originator: str, command: CaseCommandUnion, *, rationale: str = "") -> Envelope:
    return case_action(originator, CASE, command, at=NOW, rationale=rationale)


def run(svc: CommissionService, envelope: Envelope, now: datetime = NOW) -> list[Output]:
    assert isinstance(envelope.body, CaseAction)
    return svc.handle_action(envelope, envelope.body, now)


def rejection(outputs: list[Output]) -> ActionRejected:
    (out,) = outputs
    body = codec.decode(out.value or b"").body
    assert isinstance(body, ActionRejected)
    return body


REGISTER = allegation(
    "inc-0001", summary="3 independent observers; heaviest weapon ARTILLERY_100MM_PLUS"
)
DETERMINATION = determination(NOW)
REMEDY = remedies(NOW)[0]  # one remedy, due in a week


def test_full_lifecycle_ends_closed_with_attribution_dissent_remedies_and_compliance() -> None:
    svc = service()
    steps = [
        act("svc.monitoring", REGISTER, rationale="CORROBORATED"),
        act(M1, StartPreliminaryReview(rapporteur=M2)),
        act(M2, OpenInvestigation(scope="Impact of 14 March", investigators=(M2, "pol.mon"))),
        act(
            M2,
            DraftFindings(
                findings=(Finding(finding_id="f1", statement="Impact of a 152 mm round."),)
            ),
        ),
        act(M2, SubmitForReview()),
        act(M1, RecordDetermination(determination=DETERMINATION), rationale="In favour."),
        act(M1, IssueRemedies(remedies=(REMEDY,))),
        act(
            M2,
            UpdateCompliance(
                updates=(ComplianceUpdate(remedy_id="r1", status=ComplianceStatus.COMPLIED),)
            ),
        ),
        act(M1, CloseCase(closure_note="Remedy complied with and verified by monitors.")),
    ]
    published: list[Envelope] = []
    for envelope in steps:
        outputs = run(svc, envelope)
        topics = [o.topic for o in outputs]
        assert topics == ["tunit.cell.state.cases", "tunit.cell.submit.priority"], envelope.body
        published.append(codec.decode(outputs[1].value or b""))
    record = svc.cases[CASE]
    case = record.case
    assert case.state is CaseState.CLOSED
    assert case.version == len(steps)
    assert case.determination == DETERMINATION
    assert case.remedies[0].compliance is ComplianceStatus.COMPLIED
    assert record.history[0].action == "REGISTER_ALLEGATION"
    positions = {p.member: p.position for p in record.positions}
    assert positions[M3] == "DISSENT"
    assert positions[M1] == "CLOSE"
    assert positions[M2] == "UPDATE_COMPLIANCE"
    # Every accepted step reached the members as the case it produced, once, under an id
    # derived from case and version, in reply to the action that produced it.
    cases = [e.body for e in published if isinstance(e.body, BreachCase)]
    assert [c.version for c in cases] == list(range(1, len(steps) + 1))
    assert [c.state for c in cases][:3] == [
        CaseState.ALLEGED,
        CaseState.PRELIMINARY_REVIEW,
        CaseState.UNDER_INVESTIGATION,
    ]
    assert cases[-1] == case
    assert {e.action_to for e in published} == {("COMMISSION",)}
    assert [e.in_reply_to for e in published] == [s.message_id for s in steps]
    assert len({e.message_id for e in published}) == len(steps)
    assert [e.primary_precedence for e in published] == [Precedence.PRIORITY] * len(steps)
    # Restart: the last snapshot rebuilds the case exactly; replays change nothing.
    restarted = service()
    restarted.load(CASE.encode(), svc._snapshot(record).value)
    assert restarted.cases[CASE] == record
    for envelope in steps:
        assert run(restarted, envelope) == []


def test_illegal_transition_is_refused_with_reason() -> None:
    svc = service()
    run(svc, act("svc.monitoring", REGISTER))
    refused = rejection(run(svc, act(M1, RecordDetermination(determination=DETERMINATION))))
    assert refused.code is RejectionCode.INVALID_TRANSITION
    assert refused.current_state == "ALLEGED"
    assert "DETERMINE" in refused.detail
    assert svc.cases[CASE].case.version == 1


def test_non_member_is_refused_and_changes_nothing() -> None:
    svc = service()
    run(svc, act("svc.monitoring", REGISTER))
    outputs = run(svc, act("gbr.pjhq", StartPreliminaryReview(rapporteur=M1)))
    refused = rejection(outputs)
    assert refused.code is RejectionCode.NOT_AUTHORISED
    assert "gbr.pjhq" in refused.detail
    envelope = codec.decode(outputs[0].value or b"")
    assert envelope.action_to == ("gbr.pjhq",)
    assert envelope.originator == "svc.commission"
    assert svc.cases[CASE].case.state is CaseState.ALLEGED


def test_monitoring_desk_may_register_but_not_act_further() -> None:
    svc = service()
    run(svc, act("svc.monitoring", REGISTER))
    refused = rejection(run(svc, act("svc.monitoring", StartPreliminaryReview(rapporteur=M1))))
    assert refused.code is RejectionCode.NOT_AUTHORISED
    again = rejection(run(svc, act(M1, REGISTER)))
    assert again.code is RejectionCode.DUPLICATE_ENTITY


def determined() -> CommissionService:
    """A service holding the case determined (violation confirmed), no remedies yet."""
    svc = service()
    for envelope in [
        act(M1, REGISTER),
        act(M1, StartPreliminaryReview(rapporteur=M2)),
        act(M2, OpenInvestigation(scope="s", investigators=(M2,))),
        act(M2, DraftFindings(findings=(Finding(finding_id="f1", statement="x"),))),
        act(M2, SubmitForReview()),
        act(M1, RecordDetermination(determination=DETERMINATION)),
    ]:
        run(svc, envelope)
    return svc


def test_confirmed_violation_cannot_close_before_remedies() -> None:
    svc = determined()
    refused = rejection(run(svc, act(M1, CloseCase(closure_note="done"))))
    assert refused.code is RejectionCode.INVALID_TRANSITION


def test_overdue_remedy_alerts_once() -> None:
    svc = determined()
    run(svc, act(M1, IssueRemedies(remedies=(REMEDY,))))
    assert svc.tick(NOW + timedelta(days=1)) == []
    outputs = svc.tick(NOW + timedelta(days=8))
    alerts = [codec.decode(o.value or b"") for o in outputs if ".submit." in o.topic]
    assert len(alerts) == 1
    assert isinstance(alerts[0].body, Escalation)
    assert alerts[0].action_to == ("COMMISSION",)
    assert alerts[0].info_to == ("ROLE:WATCH",)
    assert svc.tick(NOW + timedelta(days=9)) == []
