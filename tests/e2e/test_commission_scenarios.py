"""Issue 6 through the gateway with the whole cell running: monitors' reports to a breach case,
the Special Commission's members driving it to CLOSED, refusals, restarts and replay.

Every message goes in as a desk posts it (``POST /v1/messages``) and every check of what a
desk learns is read from its inbox (``GET /v1/inbox``). What the services keep on their
compacted state topics is read back with their own replay, as they rebuild on restart (the
gateway has no case or incident query yet).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from commission_cell import (
    IMPACT,
    MONITORS,
    action,
    around,
    case_in,
    case_version,
    cases,
    drained,
    heard_again,
    incidents,
    kind,
    lifecycle,
    observations,
    query,
    rejection_of,
    report,
)
from domain_builders import M1, M2, M3, MEMBERS, determination
from full_cell import FullCell, full_cell

from schemas.kinds.commission import (
    BreachCase,
    CaseState,
    ComplianceStatus,
    Outcome,
    Responsibility,
)
from schemas.kinds.commission_actions import (
    CaseCommandUnion,
    CloseCase,
    RecordDetermination,
    WithdrawCase,
)

pytestmark = pytest.mark.integration


async def _three_monitors(cell: FullCell, at: datetime) -> list[dict[str, Any]]:
    """Each monitor posts its SPOT report of the salvo; the submissions, in order."""
    observed = observations(at)
    sent = []
    for monitor in MONITORS:
        submission = report(monitor, [observed[monitor]])
        await cell.desk(monitor).send(submission)
        sent.append(submission)
    return sent


async def _case_opened(cell: FullCell) -> str:
    """Every member is told of the one breach case; its id."""
    openings = [
        await cell.desk(m).wait_for(kind("commission.action.v1"), what="case opening")
        for m in MEMBERS
    ]
    assert {o["originator"] for o in openings} == {"svc.monitoring"}
    assert {o["body"]["command"]["action"] for o in openings} == {"REGISTER_ALLEGATION"}
    (case_id,) = {o["body"]["case_id"] for o in openings}
    for member in MEMBERS:
        opened = await case_version(cell.desk(member), case_id, 1)
        assert opened.state is CaseState.ALLEGED
        assert opened.respondents == ("RUS", "UKR")
    return str(case_id)


async def _one_incident(cell: FullCell, case_id: str, at: datetime, count: int = 3) -> str:
    """One incident, corroborated by ``count`` monitors, referred as the one case (queried
    through the gateway by a member); its id."""
    answer = await query(
        cell.desk(M1),
        "/v1/incidents",
        lambda a: any(i["corroboration_count"] >= count for i in a["incidents"]),
        what=f"an incident corroborated {count} times",
        **around(at, IMPACT),
    )
    assert answer["total"] == 1, answer
    (incident,) = answer["incidents"]
    assert incident["corroboration_count"] == count
    assert incident["observation_count"] == count
    assert incident["status"] == "REFERRED"
    assert incident["referred_case_id"] == case_id
    assert incident["severity"] == "HIGH"
    assert incident["withdrawal_zone"] == "WZ-CENTRE Siversk-Vuhledar"
    assert "HEAVY_WEAPON_IN_WITHDRAWAL_ZONE" in incident["breach_rules"]
    assert incident["window"]["original_tz"] == "Europe/Kyiv"
    # The Ukrainian team wrote Kyiv wall-clock times: computed in UTC, its zone kept.
    (record,) = (await incidents(cell)).values()
    assert len(record.members) == count
    assert {(m.source_zone, m.start.tzinfo) for m in record.members} == {("Europe/Kyiv", UTC)}
    return str(incident["incident_id"])


async def _case_answer(cell: FullCell, case_id: str, version: int) -> dict[str, Any]:
    """The case with its history, as a member queries it through the gateway."""
    return dict(
        await query(
            cell.desk(M2),
            f"/v1/cases/{case_id}",
            lambda a: a["case"]["version"] == version,
            what=f"case {case_id} v{version}",
        )
    )


async def _step(
    cell: FullCell, case_id: str, steps: list[tuple[str, Any, str]], n: int
) -> dict[str, Any]:
    """Step ``n`` of the lifecycle, by its member, on the version the step expects."""
    member, command, rationale = steps[n]
    submission = action(case_id, command, version=n + 1, rationale=rationale)
    await cell.desk(member).send(submission)
    return submission


async def _seen_by_all(cell: FullCell, case_id: str, version: int) -> BreachCase:
    for member in MEMBERS:
        case = await case_version(cell.desk(member), case_id, version)
    return case


async def _drive(
    cell: FullCell, case_id: str, steps: list[tuple[str, Any, str]], *, first: int = 0
) -> list[dict[str, Any]]:
    """Members act in turn on the version they last saw; each step is seen by all members.

    REGISTER_ALLEGATION made version 1, so step ``n`` acts on version n + 1.
    """
    sent = []
    for n in range(first, len(steps)):
        sent.append(await _step(cell, case_id, steps, n))
        await _seen_by_all(cell, case_id, n + 2)
    return sent


def _assert_closed(final: BreachCase) -> None:
    assert final.state is CaseState.CLOSED
    determination = final.determination
    assert determination is not None
    assert determination.outcome is Outcome.VIOLATION_CONFIRMED
    parties = {a.party: a.responsibility for a in determination.attributions}
    assert parties == {"RUS": Responsibility.RESPONSIBLE, "UKR": Responsibility.NOT_RESPONSIBLE}
    assert [d.member for d in determination.dissents] == [M3]
    assert {r.remedy_id: r.compliance for r in final.remedies} == {
        "r1": ComplianceStatus.COMPLIED,
        "r2": ComplianceStatus.COMPLIED,
    }
    assert all(r.due_at > final.opened_at for r in final.remedies)
    assert [f.finding_id for f in final.findings] == ["f1", "f2"]
    assert final.rapporteur == M2


def _assert_each_once(cell: FullCell, case_id: str, actions: list[dict[str, Any]]) -> int:
    """No member saw a case version or a fellow member's action twice; the last version."""
    for member in MEMBERS:
        received = [i["message"] for i in cell.desk(member).received]
        versions = Counter(
            m["body"]["version"]
            for m in received
            if m["body"]["kind"] == "commission.case.v1" and m["body"]["case_id"] == case_id
        )
        assert set(versions.values()) == {1}, (member, versions)
        assert sorted(versions) == list(range(1, len(versions) + 1)), (member, versions)
        copies = Counter(m["message_id"] for m in received)
        for sent in actions:
            assert copies[sent["message_id"]] <= 1, (member, sent["subject"])
        openings = [
            m
            for m in received
            if m["originator"] == "svc.monitoring" and m["body"]["kind"] == "commission.action.v1"
        ]
        assert len(openings) == 1, (member, [m["subject"] for m in openings])
    return int(max(versions))


async def test_three_monitors_open_one_case_the_commission_drives_to_closed(
    kafka_bootstrap: str,
) -> None:
    async with full_cell(kafka_bootstrap) as cell:
        at = datetime.now(UTC) - timedelta(minutes=40)
        await _three_monitors(cell, at)
        case_id = await _case_opened(cell)
        incident_id = await _one_incident(cell, case_id, at)

        steps = lifecycle(datetime.now(UTC).date())
        actions = await _drive(cell, case_id, steps)

        final = await case_version(cell.desk(M3), case_id, len(steps) + 1)
        _assert_closed(final)
        assert final.incident_ids == (incident_id,)
        assert _assert_each_once(cell, case_id, actions) == len(steps) + 1
        # Each member saw the others' actions as they were taken, one copy each.
        for member in MEMBERS:
            copies = Counter(i["message"]["message_id"] for i in cell.desk(member).received)
            others = [a for a, (m, _, _) in zip(actions, steps, strict=True) if m != member]
            assert all(copies[a["message_id"]] == 1 for a in others), member
        # The case with its history and each member's position, through the gateway.
        answer = await _case_answer(cell, case_id, len(steps) + 1)
        assert case_in({"body": {"kind": "commission.case.v1", **answer["case"]}}) == final
        history = answer["history"]
        assert [h["action"] for h in history] == [
            "REGISTER_ALLEGATION",
            *(a["body"]["command"]["action"] for a in actions),
        ]
        assert [h["actor"] for h in history] == ["svc.monitoring", *(m for m, _, _ in steps)]
        assert [h["message_id"] for h in history[1:]] == [a["message_id"] for a in actions]
        assert history[-1]["to_state"] == "CLOSED"
        positions = {p["member"]: p["position"] for p in answer["positions"]}
        assert positions == {
            "svc.monitoring": "REGISTER_ALLEGATION",
            M1: "CLOSE",
            M2: "UPDATE_COMPLIANCE",
            M3: "DISSENT",
        }
        closed = await query(
            cell.desk(M3), "/v1/cases", lambda a: a["total"] == 1, what="closed", state="CLOSED"
        )
        assert [c["case_id"] for c in closed["cases"]] == [case_id]


async def test_illegal_transitions_and_non_members_are_refused_with_reasons(
    kafka_bootstrap: str,
) -> None:
    async with full_cell(kafka_bootstrap) as cell:
        now = datetime.now(UTC)
        # The crater team alone: heavy artillery inside a withdrawal zone opens the case.
        at = now - timedelta(minutes=30)
        await cell.desk("pol.mon").send(report("pol.mon", [observations(at)["pol.mon"]]))
        case_id = await _case_opened(cell)
        steps = lifecycle(now.date())
        await _drive(cell, case_id, steps[:2])  # v3: UNDER_INVESTIGATION

        findings = steps[2][1]
        attempts: list[tuple[str, CaseCommandUnion, int | None, str, str]] = [
            (M2, CloseCase(closure_note="Nothing further."), None,
             "INVALID_TRANSITION", "CLOSE is not allowed in state UNDER_INVESTIGATION"),
            (M3, RecordDetermination(determination=determination(now)), None,
             "INVALID_TRANSITION", "DETERMINE is not allowed in state UNDER_INVESTIGATION"),
            (M1, findings, 2, "VERSION_CONFLICT", "acted on version 2, case is at 3"),
            ("usa.eucom", findings, None,
             "NOT_AUTHORISED", "usa.eucom is not a Special Commission member"),
            ("ukr.mod", WithdrawCase(reason="We dispute the report."), None,
             "NOT_AUTHORISED", "ukr.mod is not a Special Commission member"),
        ]  # fmt: skip
        refused: dict[str, list[str]] = {}
        for desk, command, version, code, reason in attempts:
            submission = action(case_id, command, version=version)
            await cell.desk(desk).send(submission)
            body = await rejection_of(cell.desk(desk), submission["message_id"])
            assert body["code"] == code, body
            assert reason in body["detail"], body
            assert body["entity_id"] == case_id
            assert body["current_state"] == "UNDER_INVESTIGATION"
            refused.setdefault(desk, []).append(submission["message_id"])

        # A desk without the MONITOR role cannot feed the mechanism: the router refuses the
        # report itself, per addressee, naming the reason.
        fake = report("pol.mon", [observations(now - timedelta(minutes=20))["pol.mon"]])
        await cell.desk("usa.state").send(fake)
        non_delivery = await cell.desk("usa.state").wait_for(
            lambda m: m["body"].get("subject_message_id") == fake["message_id"],
            what="non-delivery of the report",
        )
        assert non_delivery["body"]["kind"] == "notify.non_delivery.v1"
        assert non_delivery["body"]["reason"] == "ORIGINATOR_NOT_AUTHORISED"

        # Nothing changed: the next legal step on version 3 is accepted as version 4.
        await _drive(cell, case_id, steps[:3], first=2)
        answer = await _case_answer(cell, case_id, 4)
        assert answer["case"]["state"] == "FINDINGS_DRAFTED"
        assert answer["case"]["determination"] is None
        every_refusal = {i for ids in refused.values() for i in ids}
        assert not every_refusal & {h["message_id"] for h in answer["history"]}
        _assert_each_once(cell, case_id, [])
        # Each refusal went to its sender only.
        for member in MEMBERS:
            await cell.desk(member).poll()
            got = {b["subject_message_id"] for b in cell.desk(member).bodies("notify.rejected.v1")}
            assert got == set(refused.get(member, [])), member
        await _one_incident(cell, case_id, at, count=1)  # the fake report made none


async def test_restarting_or_killing_either_service_changes_no_outcome(
    kafka_bootstrap: str,
) -> None:
    async with full_cell(kafka_bootstrap) as cell:
        at = datetime.now(UTC) - timedelta(minutes=50)
        observed = observations(at)
        await cell.desk("ukr.mod").send(report("ukr.mod", [observed["ukr.mod"]]))
        case_id = await _case_opened(cell)  # in the zone: the first report opens it
        await cell.restart("monitoring")  # clean stop; incidents rebuilt from their topic
        await cell.desk("gbr.pjhq").send(report("gbr.pjhq", [observed["gbr.pjhq"]]))
        await _one_incident(cell, case_id, at, count=2)
        await cell.desk("pol.mon").send(report("pol.mon", [observed["pol.mon"]]))
        await cell.kill("monitoring")  # crash, maybe mid-transaction: no clean stop
        cell.start("monitoring")
        await _one_incident(cell, case_id, at)

        steps = lifecycle(datetime.now(UTC).date())
        actions = await _drive(cell, case_id, steps[:2])
        await cell.restart("commission")
        actions += await _drive(cell, case_id, steps[:4], first=2)
        # A crash right after a member's action got its 202, then the member retries it (as
        # a client that saw no answer would): the step is applied and published once.
        determination = await _step(cell, case_id, steps, 4)
        await cell.kill("commission")
        cell.start("commission")
        await cell.desk(M1).send(determination)
        await _seen_by_all(cell, case_id, 6)
        actions.append(determination)
        await cell.restart("monitoring")
        actions += await _drive(cell, case_id, steps, first=5)

        final = await _seen_by_all(cell, case_id, len(steps) + 1)
        _assert_closed(final)
        assert _assert_each_once(cell, case_id, actions) == len(steps) + 1
        answer = await _case_answer(cell, case_id, len(steps) + 1)
        ids = [h["message_id"] for h in answer["history"]]
        assert ids[1:] == [a["message_id"] for a in actions]
        assert len(set(ids)) == len(steps) + 1
        (record,) = (await cases(cell)).values()
        assert record.case == final
        assert len(await incidents(cell)) == 1


async def test_replay_and_resent_reports_open_no_second_case(kafka_bootstrap: str) -> None:
    async with full_cell(kafka_bootstrap) as cell:
        at = datetime.now(UTC) - timedelta(minutes=35)
        sent = await _three_monitors(cell, at)
        case_id = await _case_opened(cell)
        await _one_incident(cell, case_id, at)
        before = await incidents(cell)

        await cell.stop("monitoring")
        cell.start("monitoring")  # incidents rebuilt from the compacted topic
        # The same message again (a desk retrying after a lost answer): accepted, routed once.
        await cell.desk("gbr.pjhq").send(sent[1])
        # The same team again, in a new report: the salvo re-described 30 s later (a near
        # duplicate, no news) and an observation mistyped as tomorrow (refused, to the team).
        repeat = heard_again(at)
        tomorrow = heard_again(at + timedelta(days=1), observation_id="obs-3")
        amended = report("gbr.pjhq", [repeat, tomorrow])
        await cell.desk("gbr.pjhq").send(amended)
        refusal = await rejection_of(cell.desk("gbr.pjhq"), amended["message_id"])
        assert refusal["code"] == "IMPLAUSIBLE_DATA"
        assert refusal["detail"].startswith("1 of 2 observation(s) refused"), refusal
        assert "in the future" in refusal["detail"], refusal
        await drained(cell, "monitoring")
        assert await incidents(cell) == before

        # Replay from the start: a new consumer group reads the whole domain topic again.
        await cell.stop("monitoring")
        settings = cell.settings["monitoring"]
        cell.settings["monitoring"] = msgspec.structs.replace(
            settings, group_id=f"{settings.group_id}-replay"
        )
        cell.start("monitoring")
        await drained(cell, "monitoring")
        assert await incidents(cell) == before
        # Barrier: a refusal the service sends after the replay is routed after anything the
        # replay sent (same service desk and lane, one partition); then no member holds a
        # second case opening or case.
        late = report("gbr.pjhq", [heard_again(at + timedelta(days=2), observation_id="obs-4")])
        await cell.desk("gbr.pjhq").send(late)
        await rejection_of(cell.desk("gbr.pjhq"), late["message_id"])
        for member in MEMBERS:
            await cell.desk(member).poll()
        assert _assert_each_once(cell, case_id, []) == 1
        listed = await query(cell.desk(M1), "/v1/cases", lambda a: a["total"] >= 1, what="cases")
        assert [(c["case_id"], c["version"]) for c in listed["cases"]] == [(case_id, 1)]
        await _one_incident(cell, case_id, at)
