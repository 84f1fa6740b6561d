"""Monitoring pure logic: correlation, de-duplication, rules, refusals (no broker)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from schemas import codec
from schemas.common import Position, TrafficType
from schemas.kinds.commission_actions import CaseAction, RegisterAllegation
from schemas.kinds.monitoring import (
    Casualties,
    CompassPoint,
    EventType,
    IncidentStatus,
    Severity,
    WeaponCategory,
)
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.precedence import Precedence
from schemas.topics import submit_topic
from services.monitoring import ids, scenario
from services.monitoring.geo import distance_m, load_geo
from services.monitoring.records import decode_record
from services.monitoring.service import MonitoringService
from services.monitoring.settings import MonitoringSettings
from services.monitoring.worker import service_config
from services.runtime.outbox import Output

ROOT = Path(__file__).resolve().parents[2]
GEO = load_geo(ROOT / "deploy/geo/ceasefire-zones.geojson")
NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
PREFIX = "tunit."


def make_service(**overrides: object) -> MonitoringService:
    settings = msgspec.convert({"topic_prefix": PREFIX, **overrides}, MonitoringSettings)
    return MonitoringService(service_config(settings), GEO)


def feed(service: MonitoringService, envelopes: list) -> list[Output]:  # type: ignore[type-arg]
    outputs: list[Output] = []
    for envelope in envelopes:
        outputs += service.handle_report(envelope, envelope.body, NOW)
    return outputs


def submitted(outputs: list[Output]) -> list:  # type: ignore[type-arg]
    return [codec.decode(o.value) for o in outputs if ".submit." in o.topic and o.value]


def cases(outputs: list[Output]) -> list[CaseAction]:
    return [e.body for e in submitted(outputs) if isinstance(e.body, CaseAction)]


def test_zones_file_places_the_scenario_points() -> None:
    assert GEO.withdrawal_zone_at(*scenario.IN_ZONE) is not None
    assert GEO.withdrawal_zone_at(*scenario.OUTSIDE_ZONE) is None
    assert GEO.in_area(*scenario.OUTSIDE_ZONE)


def test_three_monitors_one_incident_corroboration_three_one_case() -> None:
    service = make_service()
    reports = scenario.three_monitors(scenario.OUTSIDE_ZONE, now=NOW)
    outputs = feed(service, reports)
    assert len(service.correlator) == 1
    (record,) = service.correlator.incidents.values()
    incident = record.incident
    assert incident.corroboration_count == 3
    assert len(incident.observations) == 3
    assert incident.status is IncidentStatus.REFERRED
    assert incident.referred_case_id == ids.case_id(incident.incident_id)
    # The crater fix dominates the centre: within 200 m of the true impact.
    assert distance_m(incident.location.lat, incident.location.lon, *scenario.OUTSIDE_ZONE) < 200
    opened = cases(outputs)
    assert len(opened) == 1
    assert opened[0].case_id == incident.referred_case_id
    assert isinstance(opened[0].command, RegisterAllegation)
    assert opened[0].command.incident_ids == (incident.incident_id,)
    assert opened[0].command.respondents == ("RUS", "UKR")
    (envelope,) = [e for e in submitted(outputs) if isinstance(e.body, CaseAction)]
    assert envelope.originator == "svc.monitoring"
    assert envelope.action_to == ("COMMISSION",)
    state = [o for o in outputs if o.topic == f"{PREFIX}cell.state.incidents"]
    assert decode_record(state[-1].value or b"").incident == incident
    # Outside a withdrawal zone it is the third observer that opens the case.
    assert "CORROBORATED" in record.breach_rules
    assert "HEAVY_WEAPON_IN_WITHDRAWAL_ZONE" not in record.breach_rules


def test_two_observers_outside_zone_open_no_case() -> None:
    service = make_service()
    outputs = feed(service, scenario.three_monitors(scenario.OUTSIDE_ZONE, now=NOW)[:2])
    (record,) = service.correlator.incidents.values()
    assert record.incident.corroboration_count == 2
    assert record.incident.status is IncidentStatus.CONFIRMED
    assert cases(outputs) == []


def test_heavy_artillery_in_withdrawal_zone_opens_case_at_first_report() -> None:
    service = make_service()
    first, *rest = scenario.three_monitors(scenario.IN_ZONE, now=NOW)
    assert len(cases(feed(service, [first]))) == 1
    assert cases(feed(service, rest)) == []  # later observers join, no second case
    (record,) = service.correlator.incidents.values()
    assert record.incident.corroboration_count == 3
    assert record.incident.severity is Severity.HIGH
    assert record.withdrawal_zone is not None


def test_replay_and_restart_open_no_second_case() -> None:
    service = make_service()
    reports = scenario.three_monitors(scenario.OUTSIDE_ZONE, now=NOW)
    outputs = feed(service, reports)
    assert feed(service, reports) == []  # same message ids: nothing changes
    restarted = make_service()
    for out in outputs:
        if out.topic.endswith("cell.state.incidents"):
            restarted.load(out.key or b"", out.value)
    assert restarted.correlator.incidents == service.correlator.incidents
    assert feed(restarted, reports) == []
    # The same reports re-sent under new message ids are still the same observations.
    resent = [msgspec.structs.replace(e, message_id=uuid.uuid4()) for e in reports]
    assert feed(restarted, resent) == []


def test_near_identical_observation_from_same_observer_is_absorbed() -> None:
    service = make_service()
    start = NOW - timedelta(hours=2)
    obs = scenario.heard(
        "obs-1", scenario.OUTSIDE_ZONE, bearing=CompassPoint.E, distance_m=4000.0, start=start
    )
    again = scenario.heard(
        "obs-2",
        scenario.OUTSIDE_ZONE,
        bearing=CompassPoint.E,
        distance_m=4100.0,
        start=start + timedelta(seconds=30),
    )
    feed(service, [scenario.report_envelope("gbr.pjhq", "Team A", [obs], now=NOW)])
    outputs = feed(service, [scenario.report_envelope("gbr.pjhq", "Team A", [again], now=NOW)])
    assert outputs == []
    (record,) = service.correlator.incidents.values()
    assert len(record.members) == 1


def test_far_apart_or_late_observations_are_separate_incidents() -> None:
    service = make_service()
    start = NOW - timedelta(hours=3)
    a = scenario.crater("obs-1", scenario.OUTSIDE_ZONE, start=start)
    far = scenario.crater("obs-1", (47.75, 35.40), start=start)  # ~5.5 km north
    late = scenario.crater("obs-1", scenario.OUTSIDE_ZONE, start=start + timedelta(hours=1))
    feed(
        service,
        [
            scenario.report_envelope("gbr.pjhq", "Team A", [a], now=NOW),
            scenario.report_envelope("fra.cell", "Team B", [far], now=NOW),
            scenario.report_envelope("pol.mon", "Team C", [late], now=NOW),
        ],
    )
    assert len(service.correlator) == 3


def test_exercise_traffic_never_joins_real_incidents() -> None:
    service = make_service()
    real, drill, _ = scenario.three_monitors(scenario.OUTSIDE_ZONE, now=NOW)
    drill = msgspec.structs.replace(drill, traffic_type=TrafficType.EXERCISE)
    feed(service, [real, drill])
    assert len(service.correlator) == 2


def test_strike_with_casualties_is_critical_and_opens_case() -> None:
    service = make_service()
    hurt = Casualties(civilian_killed=1, civilian_injured=3)
    obs = scenario.crater(
        "obs-1",
        scenario.OUTSIDE_ZONE,
        start=NOW - timedelta(hours=1),
        weapon=WeaponCategory.MORTAR,
        casualties=hurt,
    )
    outputs = feed(service, [scenario.report_envelope("gbr.pjhq", "Team A", [obs], now=NOW)])
    (record,) = service.correlator.incidents.values()
    assert record.incident.severity is Severity.CRITICAL
    assert record.breach_rules == ("STRIKE_WITH_CASUALTIES",)
    assert len(cases(outputs)) == 1


def test_allegation_alone_opens_no_case() -> None:
    service = make_service()
    obs = msgspec.structs.replace(
        scenario.crater("obs-1", scenario.IN_ZONE, start=NOW - timedelta(hours=1)),
        allegation=True,
        alleged_by="UKR",
    )
    outputs = feed(service, [scenario.report_envelope("ukr.gs", "UKR liaison", [obs], now=NOW)])
    assert cases(outputs) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"start_shift": timedelta(hours=3)}, "in the future"),
        ({"observer": Position(lat=50.45, lon=30.52)}, "outside the area of responsibility"),
        ({"count": 90_000}, "is not possible"),
        ({"distance": 120_000.0}, "beyond audible range"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_impossible_observations_are_refused_to_the_sender(change: dict, reason: str) -> None:  # type: ignore[type-arg]
    service = make_service()
    start = NOW - timedelta(hours=1) + change.get("start_shift", timedelta(0))
    good = scenario.heard(
        "obs-1", scenario.OUTSIDE_ZONE, bearing=CompassPoint.E, distance_m=4000.0, start=start
    )
    bad = scenario.heard(
        "obs-2",
        scenario.OUTSIDE_ZONE,
        bearing=CompassPoint.E,
        distance_m=change.get("distance", 4000.0),
        start=start,
        count=change.get("count", 4),
    )
    if "observer" in change:
        bad = msgspec.structs.replace(bad, observer_position=change["observer"])
    if "tz" in change:
        bad = msgspec.structs.replace(
            bad, window=msgspec.structs.replace(bad.window, original_tz=change["tz"])
        )
    envelope = scenario.report_envelope("gbr.pjhq", "Team A", [good, bad], now=NOW)
    outputs = feed(service, [envelope])
    (rejection,) = [e for e in submitted(outputs) if isinstance(e.body, ActionRejected)]
    assert rejection.action_to == ("gbr.pjhq",)
    assert rejection.in_reply_to == envelope.message_id
    assert rejection.body.subject_message_id == envelope.message_id
    assert rejection.body.code is RejectionCode.IMPLAUSIBLE_DATA
    assert "obs-2" in rejection.body.detail
    assert reason in rejection.body.detail
    assert rejection.label == envelope.label
    expected_accept = 0 if "start_shift" in change else 1  # obs-1 shares the future window
    accepted = sum(len(r.members) for r in service.correlator.incidents.values())
    assert accepted == expected_accept
    if expected_accept:
        assert "obs-1" not in rejection.body.detail
    assert any(o.topic == submit_topic(Precedence.IMMEDIATE, prefix=PREFIX) for o in outputs)


def test_event_type_of_other_class_does_not_correlate() -> None:
    service = make_service()
    start = NOW - timedelta(hours=1)
    boom = scenario.crater("obs-1", scenario.OUTSIDE_ZONE, start=start)
    movement = msgspec.structs.replace(
        boom, event_type=EventType.MILITARY_MOVEMENT, observation_id="obs-9"
    )
    feed(
        service,
        [
            scenario.report_envelope("gbr.pjhq", "Team A", [boom], now=NOW),
            scenario.report_envelope("fra.cell", "Team B", [movement], now=NOW),
        ],
    )
    assert len(service.correlator) == 2
