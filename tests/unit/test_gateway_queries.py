"""The gateway query views' pure parts: parameters, indexes, filtering, record application."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict

from schemas.common import Area, Position, TimeWindow, TrafficType
from schemas.desks import Desk
from schemas.kinds.alert import AlertStatus
from schemas.kinds.monitoring import EventType, IncidentStatus, Severity
from schemas.kinds.support import CapabilityArea, RequestKind, RequestState
from schemas.kinds.tasking import OrderType, TaskDomain, TaskState, TaskType
from schemas.labels import Classification, Policy, SecurityLabel
from services.gateway.problems import Problem
from services.gateway.queries import params, select
from services.gateway.queries.answers import (
    IncidentAnswer,
    OrderAnswer,
    RequestAnswer,
    RequestSummary,
    TaskAnswer,
    Totals,
)
from services.gateway.queries.index import (
    MAX_DAYS_BUCKETED,
    BBox,
    Table,
    ViewState,
    Visible,
    overlaps,
)
from services.gateway.queries.views import apply_record
from services.monitoring import records as monitoring_records
from services.support.state import AlertRecord, encode_record

T0 = datetime(2026, 3, 14, 6, 0, tzinfo=UTC)
FRA = msgspec.convert({"id": "fra.cell", "nation": "FRA", "clearance": "SECRET"}, Desk)
NLD = msgspec.convert({"id": "nld.def", "nation": "NLD", "clearance": "CONFIDENTIAL"}, Desk)


def lab(classification: Classification = Classification.NATO_RESTRICTED, rel=("FRA", "NLD")):
    return SecurityLabel(
        policy=Policy.NATO, classification=classification, releasable_to=rel, created_at=T0
    )


def incident(key: str, *, lon: float = 37.8, lat: float = 48.0, start=T0, hours: float = 1):
    return IncidentAnswer(
        incident_id=key,
        status=IncidentStatus.CONFIRMED,
        event_type=EventType.IMPACT,
        severity=Severity.HIGH,
        location=Position(lat=lat, lon=lon),
        radius_m=500.0,
        window=TimeWindow(start=start, end=start + timedelta(hours=hours)),
        corroboration_count=1,
        observation_count=1,
        casualties=None,
        referred_case_id=None,
        breach_rules=(),
        withdrawal_zone=None,
        assessment="",
        traffic_type=TrafficType.OPERATION,
        marking="",
    )


def visible(answer, label=None):
    return Visible(label or lab(), TrafficType.OPERATION, answer)


# --- parameters ---------------------------------------------------------------------------


def q(**values: str) -> MultiDict[str]:
    return MultiDict(values)


def test_limit_defaults_and_bounds():
    assert params.limit(q()) == params.DEFAULT_LIMIT
    assert params.limit(q(limit="1000")) == 1000
    for bad in ("0", "1001", "-1", "1.5", "ten", "١٢"):
        with pytest.raises(Problem) as refused:
            params.limit(q(limit=bad))
        assert refused.value.status == 400
        assert refused.value.errors[0].path == "limit"


def test_time_range_needs_zones_and_order():
    since, until = params.time_range(
        q(since="2026-03-14T08:00:00+02:00", until="2026-03-14T07:00:00Z")
    )
    assert since == datetime(2026, 3, 14, 6, 0, tzinfo=UTC)
    assert until is not None
    assert until.tzinfo is UTC
    for query, name in (
        (q(since="2026-03-14T08:00:00"), "since"),
        (q(until="14 March"), "until"),
        (q(since="2026-03-15T00:00:00Z", until="2026-03-14T00:00:00Z"), "until"),
        (q(since=""), "since"),
        (MultiDict([("until", "2026-03-14T00:00Z"), ("until", "2026-03-15T00:00Z")]), "until"),
    ):
        with pytest.raises(Problem) as refused:
            params.time_range(query)
        assert refused.value.errors[0].path == name


@pytest.mark.parametrize(
    "raw", ["1,2,3", "1,2,3,4,5", "a,b,c,d", "nan,0,1,1", "0,0,181,1", "0,-91,1,1", "0,2,1,1"]
)
def test_bad_bbox_is_refused(raw):
    with pytest.raises(Problem) as refused:
        params.bbox(q(bbox=raw))
    assert refused.value.errors[0].path == "bbox"


def test_bbox_contains_and_crosses_the_antimeridian():
    box = params.bbox(q(bbox="37,47.5,38.5,48.5"))
    assert box == BBox(min_lon=37, min_lat=47.5, max_lon=38.5, max_lat=48.5)
    assert box.contains(37.8, 48.0)
    assert not box.contains(36.2, 49.9)
    pacific = BBox(min_lon=170, min_lat=-10, max_lon=-170, max_lat=10)
    assert pacific.contains(179.5, 0)
    assert pacific.contains(-175, 0)
    assert not pacific.contains(0, 0)


def test_choice_boolean_nation():
    assert params.choice(q(domain="LAND"), "domain", TaskDomain) is TaskDomain.LAND
    assert params.choice(q(), "domain", TaskDomain) is None
    assert params.boolean(q(open="false"), "open", default=True) is False
    assert params.nation(q(nation="FRA")) == "FRA"
    for call in (
        lambda: params.choice(q(domain="land"), "domain", TaskDomain),
        lambda: params.boolean(q(open="1"), "open", default=True),
        lambda: params.nation(q(nation="FRANCE")),
    ):
        with pytest.raises(Problem):
            call()


# --- indexes -----------------------------------------------------------------------------


@given(
    start=st.integers(0, 10_000),
    length=st.integers(0, 500),
    since=st.integers(0, 10_000),
    span=st.integers(0, 500),
)
def test_overlap_matches_the_closed_interval_definition(start, length, since, span):
    def at(minute: int) -> datetime:
        return T0 + timedelta(minutes=minute)

    expected = max(start, since) <= min(start + length, since + span)
    assert overlaps(at(start), at(start + length), at(since), at(since + span)) is expected


def test_table_keeps_indexes_in_step_and_refuses_past_capacity():
    table: Table[IncidentAnswer] = Table(2, {"lon": lambda a: (a.location.lon,)})
    assert table.put("a", visible(incident("a", lon=30)))
    assert table.put("b", visible(incident("b", lon=30)))
    assert table.keys_where("lon", 30) == {"a", "b"}
    assert table.put("a", visible(incident("a", lon=31)))  # replacing needs no new slot
    assert table.keys_where("lon", 30) == {"b"}
    assert table.keys_where("lon", 31) == {"a"}
    assert not table.put("c", visible(incident("c")))  # full
    assert table.get("c") is None
    assert table.delete("b")
    assert not table.delete("b")
    assert table.index_values("lon") == [31]
    assert table.put("c", visible(incident("c")))


def test_incident_time_query_uses_day_buckets_and_long_windows():
    state = ViewState(100)
    long_hours = 24 * (MAX_DAYS_BUCKETED + 15)  # T0 - 40 days .. T0 + 6 days
    entries = {
        "day1": incident("day1", start=T0),
        "day3": incident("day3", start=T0 + timedelta(days=2)),
        "overnight": incident("overnight", start=T0 + timedelta(hours=17), hours=10),
        "long": incident("long", start=T0 - timedelta(days=40), hours=long_hours),
        "year-later": incident("year-later", start=T0 + timedelta(days=365)),
    }
    for key, answer in entries.items():
        state.incidents.put(key, visible(answer))

    def found(since: datetime | None, until: datetime | None) -> list[str]:
        query = select.IncidentQuery(since=since, until=until, bbox=None, limit=100)
        return [a.incident_id for a in select.incidents(state, FRA, query).incidents]

    day2 = T0.replace(hour=0) + timedelta(days=1)
    assert found(day2, day2 + timedelta(hours=6)) == ["long", "overnight"]
    assert found(T0, T0) == ["long", "day1"]
    # A range far longer than the buckets present walks the buckets, not the calendar.
    far = datetime(9000, 1, 1, tzinfo=UTC)
    assert found(datetime(1, 1, 1, tzinfo=UTC), far) == [
        "long",
        "day1",
        "overnight",
        "day3",
        "year-later",
    ]
    assert found(None, T0 - timedelta(days=41)) == []
    state.incidents.delete("long")
    assert found(T0, T0) == ["day1"]


# --- filtering ------------------------------------------------------------------------------


def test_incidents_filtered_by_desk_before_limit():
    state = ViewState(100)
    state.incidents.put("a", visible(incident("a")))
    state.incidents.put("b", visible(incident("b"), lab(Classification.NATO_SECRET)))
    state.incidents.put("c", visible(incident("c"), lab(rel=("FRA",))))
    query = select.IncidentQuery(since=None, until=None, bbox=None, limit=1)
    assert select.incidents(state, FRA, query).total == 3
    only = select.incidents(state, NLD, query)
    assert [a.incident_id for a in only.incidents] == ["a"]
    assert (only.total, only.truncated) == (1, False)
    assert select.one(state.incidents, "b", NLD) is None
    assert select.one(state.incidents, "b", FRA) is not None


def test_restrictive_categories_must_all_be_held():
    state = ViewState(100)
    categories = SecurityLabel(
        policy=Policy.NATO,
        classification=Classification.NATO_RESTRICTED,
        releasable_to=("FRA",),
        restrictive_categories=("ATOMAL", "CRYPTO"),
        created_at=T0,
    )
    state.incidents.put("atomal", visible(incident("atomal"), categories))
    holder = msgspec.convert(
        {"id": "fra.nuc", "nation": "FRA", "clearance": "SECRET", "categories": ["ATOMAL"]}, Desk
    )
    both = msgspec.convert(
        {
            "id": "fra.nuc2",
            "nation": "FRA",
            "clearance": "SECRET",
            "categories": ["ATOMAL", "CRYPTO"],
        },
        Desk,
    )
    assert select.one(state.incidents, "atomal", FRA) is None
    assert select.one(state.incidents, "atomal", holder) is None
    assert select.one(state.incidents, "atomal", both) is not None


def _request(key: str, area: CapabilityArea, state: RequestState, totals: Totals, rank: int):
    summary = RequestSummary(
        request_id=key,
        state=state,
        request_kind=RequestKind.MATERIEL,
        capability_area=area,
        title=key,
        urgency=None,
        priority_rank=rank,
        required_by=None,
        requester="ukr.gs",
        updated_at=T0,
        totals=totals,
        traffic_type=TrafficType.OPERATION,
        marking="",
    )
    return RequestAnswer(
        summary=summary,
        version=1,
        requester_nation="UKR",
        filed_at=T0,
        lines=(),
        history=(),
        offers=(),
        consignments=(),
    )


def test_open_requests_summed_per_area_over_every_match():
    state = ViewState(100)
    air, drones = CapabilityArea.AIR_DEFENCE, CapabilityArea.DRONES
    for key, area, req_state, numbers, rank in (
        ("r1", air, RequestState.SOURCING, (10, 5, 0, 0), 3),
        ("r2", air, RequestState.DELIVERED, (4, 4, 4, 4), 1),
        ("r3", air, RequestState.CANCELLED, (99, 0, 0, 0), 2),
        ("r4", drones, RequestState.MATCHED, (7, 7, 0, 0), 2),
    ):
        totals = Totals(
            requested=numbers[0], offered=numbers[1], committed=numbers[2], delivered=numbers[3]
        )
        state.requests.put(key, visible(_request(key, area, req_state, totals, rank)))
    answer = select.requests(state, FRA, open_only=True, area=air, limit=1)
    assert [r.request_id for r in answer.requests] == ["r2"]
    assert (answer.total, answer.truncated) == (2, True)
    assert [(a.capability_area, a.requests, a.totals.requested) for a in answer.areas] == [
        (air, 2, 14)
    ]
    every = select.requests(state, FRA, open_only=False, area=None, limit=10)
    assert [r.request_id for r in every.requests] == ["r2", "r3", "r4", "r1"]


def _order(key: str, tasks: list[tuple[str, TaskDomain, TaskState]]) -> OrderAnswer:
    window = TimeWindow(start=T0, end=T0 + timedelta(days=1))
    area = Area(name="Box", centre=Position(lat=46.0, lon=30.0), radius_m=1000.0)
    return OrderAnswer(
        order_id=key,
        order_type=OrderType.OPORD,
        operation_name="OP",
        time_frame=window,
        mission="",
        change_number=0,
        issuer="hq",
        tasks=tuple(
            TaskAnswer(
                order_id=key,
                task_id=f"t{n}",
                nation=nation,
                unit="unit",
                domain=domain,
                task_type=TaskType.ISR,
                purpose="p",
                area=area,
                window=window,
                state=task_state,
                change=0,
                assignees=(),
                ack_due=T0,
                updated_at=T0,
                reason="",
                progress_pct=None,
            )
            for n, (nation, domain, task_state) in enumerate(tasks)
        ),
        history=(),
        traffic_type=TrafficType.OPERATION,
        marking="",
    )


def test_tasks_match_every_filter_on_the_same_task():
    state = ViewState(100)
    land, air = TaskDomain.LAND, TaskDomain.AIR
    state.orders.put(
        "o1",
        visible(
            _order("o1", [("FRA", land, TaskState.RECEIVED), ("NLD", air, TaskState.COMPLETED)])
        ),
    )
    state.orders.put("o2", visible(_order("o2", [("NLD", land, TaskState.RECEIVED)])))

    def found(**filters: object) -> list[tuple[str, str]]:
        query = select.TaskQuery(
            nation=filters.get("nation"),  # type: ignore[arg-type]
            status=filters.get("status"),  # type: ignore[arg-type]
            domain=filters.get("domain"),  # type: ignore[arg-type]
            limit=100,
        )
        return [(t.order_id, t.task_id) for t in select.tasks(state, FRA, query).tasks]

    # o1 has an NLD task and a LAND task, but no NLD LAND task.
    assert found(nation="NLD", domain=land) == [("o2", "t0")]
    assert found(status=TaskState.RECEIVED) == [("o1", "t0"), ("o2", "t0")]
    assert found() == [("o1", "t0"), ("o1", "t1"), ("o2", "t0")]


# --- applying records -----------------------------------------------------------------------


def test_apply_record_tombstones_ignored_kinds_and_undecodable():
    state = ViewState(100)
    alert = AlertRecord(
        alert_id="alert-1",
        message_ids=(uuid.uuid4(),),
        status=AlertStatus.ACTIVE,
        depot_draw_authorised=True,
        originator="cell.watch",
        updated_at=T0,
    )
    assert apply_record(state, "requests", "!alert/alert-1", encode_record(alert)) == "ignored"
    assert apply_record(state, "requests", "!alert/alert-1", None) == "ignored"
    assert apply_record(state, "cases", "case-1", None) == "ignored"
    mark = monitoring_records.encode_mark(monitoring_records.SummaryMark(period_end=T0))
    key = monitoring_records.SUMMARY_MARK_KEY.decode()
    assert apply_record(state, "incidents", key, mark) == "ignored"
    with pytest.raises(msgspec.ValidationError):
        apply_record(state, "cases", "case-1", b'{"case": 1}')
    with pytest.raises(msgspec.DecodeError):
        apply_record(state, "orders", "o1", b"\xff not json")
    assert state.sizes() == {"incidents": 0, "cases": 0, "requests": 0, "orders": 0}
