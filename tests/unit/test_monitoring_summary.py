"""The daily violations summary and the bounded incident index (pure logic, no broker)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from schemas import codec
from schemas.common import TrafficType
from schemas.desks import load_registry
from schemas.envelope import Envelope
from schemas.kinds.monitoring import CompassPoint, IncidentStatus, Observation
from schemas.kinds.notifications import ActionRejected, RejectionCode
from schemas.kinds.summary import SummaryRequest, SummaryTrigger, ViolationSummary
from schemas.labels import SecurityLabel
from schemas.precedence import Precedence
from services.monitoring import scenario, summary
from services.monitoring.correlate import with_status
from services.monitoring.geo import OUTSIDE_AOR, load_geo
from services.monitoring.records import SUMMARY_MARK_KEY, SummaryMark, decode_mark, encode_mark
from services.monitoring.service import MonitoringService
from services.monitoring.settings import MonitoringSettings
from services.monitoring.worker import service_config
from services.runtime.outbox import Output

ROOT = Path(__file__).resolve().parents[2]
GEO = load_geo(ROOT / "deploy/geo/ceasefire-zones.geojson")
DESKS = load_registry(ROOT / "deploy/desks/demo.json")
NOW = datetime(2026, 3, 14, 13, 12, tzinfo=UTC)
END = datetime(2026, 3, 14, 6, 0, tzinfo=UTC)  # the period due at NOW with summary_at 06:00
PREFIX = "tsum."
CENTRE = "WZ-CENTRE Siversk-Vuhledar"
# Well away from the scenario points, still in the area and outside every zone.
REAR = (47.95, 34.20)


@dataclass(frozen=True)
class Record:
    value: bytes | None
    topic: str = f"{PREFIX}cell.domain.monitoring"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def make_service(**overrides: object) -> MonitoringService:
    settings = msgspec.convert({"topic_prefix": PREFIX, **overrides}, MonitoringSettings)
    return MonitoringService(service_config(settings), GEO, registry=DESKS)


def one_report(
    impact: tuple[float, float],
    start: datetime,
    *,
    originator: str = "gbr.pjhq",
    allegation: bool = False,
    rel_to: tuple[str, ...] = scenario.REL_TO,
    traffic_type: TrafficType = TrafficType.OPERATION,
) -> Envelope:
    obs: Observation = scenario.heard(
        "obs-1", impact, bearing=CompassPoint.E, distance_m=4000.0, start=start
    )
    if allegation:
        obs = msgspec.structs.replace(obs, allegation=True)
    return scenario.report_envelope(
        originator,
        "Team Rear-1",
        [obs],
        now=NOW,
        rel_to=rel_to,
        traffic_type=traffic_type,
    )


def feed(
    service: MonitoringService, envelopes: list[Envelope], now: datetime = NOW
) -> list[Output]:
    outputs: list[Output] = []
    for envelope in envelopes:
        assert envelope.body.__class__.__name__ == "MonitoringReport"
        outputs += service.handle_report(envelope, envelope.body, now)  # type: ignore[arg-type]
    return outputs


def submitted(outputs: list[Output]) -> list[Envelope]:
    return [codec.decode(o.value) for o in outputs if ".submit." in o.topic and o.value]


def summaries(outputs: list[Output]) -> list[tuple[Envelope, ViolationSummary]]:
    return [(e, e.body) for e in submitted(outputs) if isinstance(e.body, ViolationSummary)]


def request(
    originator: str, *, period_end: datetime | None = None, released: datetime = NOW
) -> Record:
    envelope = Envelope(
        message_id=uuid.uuid4(),
        traffic_type=TrafficType.OPERATION,
        originator=originator,
        action_to=("svc.monitoring",),
        primary_precedence=Precedence.PRIORITY,
        copy_precedence=Precedence.PRIORITY,
        label=scenario.label(released, ("FRA",)),
        subject="Violations summary, please",
        created_at=released,
        released_at=released,
        body=SummaryRequest(period_end=period_end),
    )
    return Record(value=codec.encode(envelope))


def two_days(service: MonitoringService) -> None:
    """Current period: 2 impacts in WZ-CENTRE, 1 in the rear; previous: 1 rear, 1 centre."""
    feed(
        service,
        [
            one_report(scenario.IN_ZONE, END - timedelta(hours=20)),
            one_report(scenario.IN_ZONE, END - timedelta(hours=3)),
            one_report(REAR, END - timedelta(hours=10)),
            one_report(REAR, END - timedelta(hours=30)),
            one_report(scenario.IN_ZONE, END - timedelta(hours=47)),
            # Outside both periods: after the end, before the previous start.
            one_report(REAR, END + timedelta(hours=2)),
            one_report(REAR, END - timedelta(hours=49)),
        ],
    )


def test_regions_are_zone_then_area_then_outside() -> None:
    assert GEO.region_at(*scenario.IN_ZONE) == CENTRE
    assert GEO.region_at(*REAR) == "AOR-EAST"
    assert GEO.region_at(*scenario.OUTSIDE_ZONE) == "AOR-EAST"
    assert GEO.region_at(50.45, 30.52) == OUTSIDE_AOR  # Kyiv: far outside the area


def test_due_period_end_is_the_latest_scheduled_time() -> None:
    at = summary.parse_time_of_day("06:00")
    assert summary.due_period_end(NOW, at) == END
    assert summary.due_period_end(END, at) == END
    assert summary.due_period_end(END - timedelta(seconds=1), at) == END - timedelta(days=1)


def test_counts_by_region_and_event_type_against_the_previous_period() -> None:
    service = make_service()
    two_days(service)
    counted = summary.count(
        service.correlator.incidents.values(),
        period_end=END,
        traffic_type=TrafficType.OPERATION,
        geo=GEO,
    )
    body = summary.summary_body(
        counted, summary_id="sum-test", trigger=SummaryTrigger.SCHEDULED, period_end=END, now=NOW
    )
    rows = {(r.region, r.event_type.value): (r.count, r.previous_count, r.delta) for r in body.rows}
    assert rows == {
        (CENTRE, "EXPLOSION"): (2, 1, 1),
        ("AOR-EAST", "EXPLOSION"): (1, 1, 0),
    }
    assert (body.total, body.previous_total, body.total_delta) == (3, 2, 1)
    assert body.period_start == END - timedelta(hours=24)
    assert (body.previous_start, body.previous_end) == (
        END - timedelta(hours=48),
        body.period_start,
    )
    # The wire form passes the contract's own checks (sums, deltas, ordered windows).
    assert msgspec.json.decode(msgspec.json.encode(body), type=ViolationSummary) == body


def test_empty_periods_give_an_empty_summary() -> None:
    counted = summary.count([], period_end=END, traffic_type=TrafficType.OPERATION, geo=GEO)
    body = summary.summary_body(
        counted, summary_id="sum-empty", trigger=SummaryTrigger.ON_DEMAND, period_end=END, now=NOW
    )
    assert body.rows == ()
    assert (body.total, body.previous_total, body.total_delta) == (0, 0, 0)


def test_allegations_dismissed_and_exercise_incidents_are_not_counted() -> None:
    service = make_service()
    feed(
        service,
        [
            one_report(REAR, END - timedelta(hours=5), allegation=True),
            one_report(scenario.IN_ZONE, END - timedelta(hours=5), traffic_type=TrafficType.DRILL),
            one_report(scenario.OUTSIDE_ZONE, END - timedelta(hours=6)),
        ],
    )
    records = list(service.correlator.incidents.values())
    assert len(records) == 3

    def total(recs: list) -> int:  # type: ignore[type-arg]
        counted = summary.count(recs, period_end=END, traffic_type=TrafficType.OPERATION, geo=GEO)
        return sum(r.count for r in counted.rows)

    assert total(records) == 1
    dismissed = [
        with_status(r, IncidentStatus.DISMISSED) if r.withdrawal_zone is None else r
        for r in records
    ]
    assert total(dismissed) == 0
    drill = summary.count(records, period_end=END, traffic_type=TrafficType.DRILL, geo=GEO)
    assert [(r.region, r.count) for r in drill.rows] == [(CENTRE, 1)]


def test_schedule_sends_once_per_period_and_the_mark_survives_a_restart() -> None:
    service = make_service()
    two_days(service)
    (started,) = service.tick(NOW)  # first run: the schedule starts with the next period
    assert started.key == SUMMARY_MARK_KEY
    assert decode_mark(started.value or b"").period_end == END
    assert service.tick(NOW + timedelta(hours=1)) == []
    tomorrow = NOW + timedelta(days=1)
    outputs = service.tick(tomorrow)
    ((envelope, body),) = summaries(outputs)
    assert body.trigger is SummaryTrigger.SCHEDULED
    assert body.period_end == END + timedelta(days=1)
    assert envelope.action_to == ("COMMISSION", "ROLE:WATCH")
    assert envelope.primary_precedence is Precedence.ROUTINE
    assert body.previous_total == 3  # yesterday's current period is today's previous one
    (mark,) = [o for o in outputs if o.key == SUMMARY_MARK_KEY]
    assert decode_mark(mark.value or b"").period_end == body.period_end
    assert service.tick(tomorrow + timedelta(minutes=1)) == []

    restarted = make_service()
    restarted.load(SUMMARY_MARK_KEY, mark.value)
    assert restarted.tick(tomorrow + timedelta(minutes=2)) == []
    # The same period sent again (a crash before the mark committed) is the same message.
    again = make_service()
    again.load(SUMMARY_MARK_KEY, encode_mark(SummaryMark(period_end=END)))
    ((resent, _),) = summaries(again.tick(tomorrow))
    assert resent.message_id == envelope.message_id


def test_summary_label_is_no_lower_than_its_sources_and_for_its_addressees() -> None:
    service = make_service()
    feed(service, [one_report(REAR, END - timedelta(hours=4), rel_to=("FRA", "GBR", "USA"))])
    service.load(SUMMARY_MARK_KEY, encode_mark(SummaryMark(period_end=END - timedelta(days=1))))
    ((envelope, body),) = summaries(service.tick(NOW))
    assert body.total == 1
    # COMMISSION and ROLE:WATCH desks of the demo registry are FRA, GBR and POL; the source
    # releases to FRA, GBR, USA: the summary may go to FRA and GBR only.
    assert set(envelope.label.releasable_to) == {"FRA", "GBR"}
    quiet = make_service()
    quiet.load(SUMMARY_MARK_KEY, encode_mark(SummaryMark(period_end=END - timedelta(days=1))))
    ((empty, _),) = summaries(quiet.tick(NOW))
    assert set(empty.label.releasable_to) == {"FRA", "GBR", "POL"}
    assert isinstance(empty.label, SecurityLabel)


def test_on_demand_answers_the_requester_and_refuses_other_desks() -> None:
    service = make_service()
    two_days(service)
    record = request("cell.watch", period_end=END)
    outputs = service.handle(record, NOW)
    ((envelope, body),) = summaries(outputs)
    asked = codec.decode(record.value or b"")
    assert body.trigger is SummaryTrigger.ON_DEMAND
    assert envelope.action_to == ("cell.watch",)
    assert envelope.in_reply_to == asked.message_id
    assert (body.total, body.previous_total) == (3, 2)
    # Without a period end the period ends at the request's release.
    (answer,) = summaries(service.handle(request("cell.commission-2"), NOW))
    assert answer[1].period_end == NOW

    refused = submitted(service.handle(request("gbr.pjhq"), NOW))
    assert [type(e.body) for e in refused] == [ActionRejected]
    rejection = refused[0].body
    assert isinstance(rejection, ActionRejected)
    assert rejection.code is RejectionCode.NOT_AUTHORISED
    assert refused[0].action_to == ("gbr.pjhq",)


@pytest.mark.parametrize(
    ("period_end", "reason"),
    [(NOW + timedelta(hours=2), "in the future"), (NOW - timedelta(days=7), "h ago")],
)
def test_on_demand_refuses_periods_it_cannot_count(period_end: datetime, reason: str) -> None:
    (refusal,) = submitted(make_service().handle(request("cell.watch", period_end=period_end), NOW))
    assert isinstance(refusal.body, ActionRejected)
    assert refusal.body.code is RejectionCode.IMPLAUSIBLE_DATA
    assert reason in refusal.body.detail


def test_incident_index_stays_bounded_while_the_topic_keeps_everything() -> None:
    service = make_service(incident_horizon_h=72)
    topic: dict[bytes, bytes] = {}
    sizes = []
    start = NOW - timedelta(days=1)
    for day in range(20):
        now = start + timedelta(days=day)
        # Ten separate impacts a day, one every 2 h across the rear area.
        reports = [
            one_report((47.6 + 0.05 * n, 34.1 + 0.05 * n), now - timedelta(hours=2 * n + 1))
            for n in range(10)
        ]
        for out in feed(service, reports, now):
            if out.topic.endswith("cell.state.incidents") and out.key and out.value:
                topic[out.key] = out.value
        service.tick(now)
        sizes.append((len(service.correlator), service.correlator.seen_count))
    assert len(topic) == 200  # every incident stays on the compacted topic
    # 72 h of horizon (and one correlation window): three days of ten incidents, at most.
    assert max(n for n, _ in sizes) <= 30
    assert sizes[-1] == sizes[-5]  # steady state, not growth
    # A restart loads only what is inside the horizon.
    restarted = MonitoringService(
        service.config, GEO, registry=DESKS, started=start + timedelta(days=19)
    )
    for key, value in topic.items():
        restarted.load(key, value)
    assert len(restarted.correlator) <= sizes[-1][0]
    # An observation older than the horizon is refused, not correlated against a gap.
    late = one_report(REAR, start + timedelta(days=19) - timedelta(hours=80))
    (refusal,) = submitted(feed(restarted, [late], start + timedelta(days=19)))
    assert isinstance(refusal.body, ActionRejected)
    assert "correlation horizon" in refusal.body.detail
