"""The Special Commission scenarios' traffic and checks, on top of ``full_cell``.

Monitoring reports are built from the monitoring service's own realistic fixtures
(``services.monitoring.scenario``): one 152 mm salvo inside withdrawal zone WZ-CENTRE, heard
by two teams kilometres away on consistent bearings and placed to 20 m by a crater team.
Case actions are typed ``CaseAction`` bodies turned into the JSON a desk posts. What the
services published on their compacted state topics is read back with the services' own
replay (``statefeed``), the way each service rebuilds itself on restart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from aiokafka import TopicPartition
from domain_builders import M1, M2, determination, remedies
from full_cell import DEADLINE_S, Desk, FullCell, auth, envelope

from schemas.common import TimeWindow
from schemas.kinds.commission import BreachCase, ComplianceStatus, Finding
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
from schemas.kinds.monitoring import CompassPoint, MonitoringReport, Observation, ReportType
from schemas.topics import domain_topic, state_topic
from services.commission.state import CaseRecord
from services.commission.state import decode_record as decode_case
from services.monitoring import scenario
from services.monitoring.records import SUMMARY_MARK_KEY, IncidentRecord
from services.monitoring.records import decode_record as decode_incident
from services.runtime import kafka, statefeed

MONITORS = ("ukr.mod", "gbr.pjhq", "pol.mon")
TEAMS = {"ukr.mod": "JCCC Team Kramatorsk", "gbr.pjhq": "OSCE-style Team Bakhmut-1"}
TEAMS["pol.mon"] = "Crater Analysis Team Siversk"
IMPACT = scenario.IN_ZONE  # inside WZ-CENTRE Siversk-Vuhledar
KYIV = scenario.KYIV


def observations(at: datetime) -> dict[str, Observation]:
    """Each monitor's observation of the one salvo (``at``: when it was heard first)."""
    return {
        "ukr.mod": scenario.heard(
            "obs-1", IMPACT, bearing=CompassPoint.E, distance_m=4000.0, start=at
        ),
        "gbr.pjhq": scenario.heard(
            "obs-1",
            IMPACT,
            bearing=CompassPoint.SSE,
            distance_m=5000.0,
            start=at + timedelta(minutes=1),
        ),
        "pol.mon": scenario.crater("obs-1", IMPACT, start=at + timedelta(minutes=10)),
    }


def heard_again(at: datetime, *, observation_id: str = "obs-2") -> Observation:
    """The British team's observation of the salvo re-described, 30 s later (``at`` as above)."""
    return scenario.heard(
        observation_id,
        IMPACT,
        bearing=CompassPoint.SSE,
        distance_m=5000.0,
        start=at + timedelta(minutes=1, seconds=30),
    )


def report_body(
    monitor: str, observed: list[Observation], *, report_id: str | None = None
) -> dict[str, Any]:
    """A SPOT report's JSON body; the Ukrainian team writes its times in Kyiv local time."""
    starts = [o.window.start for o in observed]
    report = MonitoringReport(
        report_id=report_id or f"{monitor}-spot-{uuid.uuid4().hex[:6]}",
        report_type=ReportType.SPOT,
        team=TEAMS[monitor],
        sector="Donetsk / Siversk",
        period=TimeWindow(
            start=min(starts), end=max(o.window.end for o in observed), original_tz=KYIV
        ),
        observations=tuple(observed),
        summary="Four rounds of 152 mm artillery impacting east of the settlement.",
    )
    body: dict[str, Any] = msgspec.to_builtins(report)
    if monitor == "ukr.mod":
        for window in [body["period"], *(o["window"] for o in body["observations"])]:
            window["start"] = _local(window["start"])
            window["end"] = _local(window["end"])
    return body


def _local(utc: str) -> str:
    """A UTC time as the Ukrainian team writes it: Kyiv wall clock with its offset."""
    return datetime.fromisoformat(utc).astimezone(ZoneInfo(KYIV)).isoformat()


def report(monitor: str, observed: list[Observation], **kw: Any) -> dict[str, Any]:
    """The submission: for WATCH to act on, the Commission informed (as the teams do)."""
    body = report_body(monitor, observed, report_id=kw.pop("report_id", None))
    return envelope(
        body,
        to=["ROLE:WATCH"],
        info=["COMMISSION"],
        precedence="IMMEDIATE",
        subject=f"SPOT {body['report_id']}: artillery impact in WZ-CENTRE",
        **kw,
    )


def action(
    case_id: str,
    command: CaseCommandUnion,
    *,
    version: int | None = None,
    rationale: str = "",
    message_id: str | None = None,
) -> dict[str, Any]:
    """A member's case action, to the whole Commission so every member sees it."""
    body = CaseAction(
        case_id=case_id, expected_version=version, command=command, rationale=rationale
    )
    name = type(command).__struct_config__.tag
    return envelope(
        msgspec.to_builtins(body),
        to=["COMMISSION"],
        subject=f"{name} {case_id}",
        message_id=message_id,
    )


def lifecycle(today: date) -> list[tuple[str, CaseCommandUnion, str]]:
    """(member, command, rationale) from ALLEGED to CLOSED, as the Commission would act."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        (M1, StartPreliminaryReview(rapporteur=M2), "Admissible on its face."),
        (
            M2,
            OpenInvestigation(
                scope="152 mm salvo in WZ-CENTRE and its point of origin",
                investigators=(M2, "pol.mon"),
                target_date=today + timedelta(days=10),
            ),
            "",
        ),
        (
            M2,
            DraftFindings(
                findings=(
                    Finding(
                        finding_id="f1",
                        statement="Four 152 mm rounds impacted inside WZ-CENTRE.",
                    ),
                    Finding(
                        finding_id="f2",
                        statement="Crater fuze furrows and two bearings point to fire from ENE.",
                    ),
                )
            ),
            "",
        ),
        (M2, SubmitForReview(session_at=now + timedelta(days=1)), "Ready for the session."),
        (M1, RecordDetermination(determination=determination(now)), "Carried 2 to 1."),
        (M1, IssueRemedies(remedies=remedies(now)), ""),
        (
            M2,
            UpdateCompliance(
                updates=(
                    ComplianceUpdate(
                        remedy_id="r1",
                        status=ComplianceStatus.COMPLIED,
                        note="Monitors verified the battery's withdrawal.",
                    ),
                    ComplianceUpdate(remedy_id="r2", status=ComplianceStatus.IN_PROGRESS),
                )
            ),
            "",
        ),
        (
            M1,
            UpdateCompliance(
                updates=(ComplianceUpdate(remedy_id="r2", status=ComplianceStatus.COMPLIED),)
            ),
            "",
        ),
        (M1, CloseCase(closure_note="Remedies complied with and verified by monitors."), ""),
    ]


# --- what desks received --------------------------------------------------------------------


def kind(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["body"]["kind"] == name


def case_in(message: dict[str, Any]) -> BreachCase:
    return msgspec.json.decode(msgspec.json.encode(message["body"]), type=BreachCase)


async def case_version(desk: Desk, case_id: str, version: int) -> BreachCase:
    message = await desk.wait_for(
        lambda m: (
            m["body"]["kind"] == "commission.case.v1"
            and m["body"]["case_id"] == case_id
            and m["body"]["version"] == version
        ),
        what=f"case {case_id} v{version}",
    )
    return case_in(message)


async def rejection_of(desk: Desk, message_id: str) -> dict[str, Any]:
    message = await desk.wait_for(
        lambda m: (
            m["body"]["kind"] == "notify.rejected.v1"
            and m["body"]["subject_message_id"] == message_id
        ),
        what=f"rejection of {message_id}",
    )
    return dict(message["body"])


# --- what services published on their state topics ------------------------------------------


async def _replay(cell: FullCell, name: str) -> list[tuple[bytes, bytes | None]]:
    records: list[tuple[bytes, bytes | None]] = []
    await statefeed.replay(
        cell.settings["commission"],
        state_topic(name, prefix=cell.prefix),
        lambda key, value: records.append((key, value)),
        stop=asyncio.Event(),
        timeout_s=DEADLINE_S,
        client_id="e2e-state-read",
    )
    return records


async def incidents(cell: FullCell) -> dict[str, IncidentRecord]:
    latest: dict[str, IncidentRecord] = {}
    for key, value in await _replay(cell, "incidents"):
        if value is not None and key != SUMMARY_MARK_KEY:  # the daily summary's schedule
            latest[key.decode()] = decode_incident(value)
    return latest


async def cases(cell: FullCell) -> dict[str, CaseRecord]:
    latest: dict[str, CaseRecord] = {}
    for key, value in await _replay(cell, "cases"):
        if value is not None:
            latest[key.decode()] = decode_case(value)
    return latest


async def drained(cell: FullCell, service: str) -> None:
    """Wait until ``service`` has handled every record now on its domain topic.

    The router writes that topic in transactions, so the end offset lies past a commit
    marker: the group's committed offset is compared with what a read_committed reader
    still finds after it, not with the end offset.
    """
    settings = cell.settings[service]
    topic = domain_topic(service, prefix=cell.prefix)
    group: Any = kafka.consumer(
        settings, group_id=f"{cell.prefix}{settings.group_id}", client_id="e2e-drained"
    )
    reader: Any = kafka.consumer(settings, group_id=None, client_id="e2e-drained-reader")
    await asyncio.wait_for(group.start(), DEADLINE_S)
    try:
        await asyncio.wait_for(reader.start(), DEADLINE_S)
        numbers = await kafka.partitions_of(reader, topic, timeout_s=DEADLINE_S)
        parts = [TopicPartition(topic, n) for n in numbers]
        reader.assign(parts)
        async with asyncio.timeout(DEADLINE_S):
            ends = await reader.end_offsets(parts)
            while True:
                for tp in parts:
                    reader.seek(tp, await group.committed(tp) or 0)
                pending = await reader.getmany(*parts, timeout_ms=300)
                positions = [await reader.position(tp) for tp in parts]
                if not any(pending.values()) and all(
                    at >= ends[tp] for at, tp in zip(positions, parts, strict=True)
                ):
                    return
                cell.check_alive()
                await asyncio.sleep(0.2)
    finally:
        await kafka.stop_client(reader, DEADLINE_S)
        await kafka.stop_client(group, DEADLINE_S)


# --- gateway queries ------------------------------------------------------------------------


async def query(
    desk: Desk, path: str, done: Callable[[Any], bool], *, what: str, **params: str
) -> Any:
    """The answer of ``GET path`` once ``done`` holds (the views follow the state topics)."""
    last: Any = None
    try:
        async with asyncio.timeout(DEADLINE_S):
            while True:
                response = await desk.cell.client.get(path, params=params, headers=auth(desk.id))
                last = (response.status, await response.json())
                # 503 until the views caught up; 404 until the case reached them.
                assert response.status in {200, 404, 503}, last
                if response.status == 200 and done(last[1]):
                    return last[1]
                await asyncio.sleep(0.3)
    except TimeoutError:
        raise AssertionError(f"{desk.id}: {what} not answered by {path}: {last}") from None


def around(at: datetime, centre: tuple[float, float]) -> dict[str, str]:
    """Incident query parameters: the hour around ``at``, 0.2 degree around ``centre``."""
    lat, lon = centre
    return {
        "since": (at - timedelta(minutes=30)).isoformat(),
        "until": (at + timedelta(minutes=30)).isoformat(),
        "bbox": f"{lon - 0.1},{lat - 0.1},{lon + 0.1},{lat + 0.1}",
    }
