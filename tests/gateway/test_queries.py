"""Gateway queries end to end: state records on the real broker, answers through HTTP.

Each test writes the services' own state records (their ``encode_record``, their keys) on
the compacted state topics of a prefix of its own, then starts a gateway on that prefix and
queries it as different desks. Records written before the gateway starts are all in its
first answer (the views answer only once caught up with the end offsets seen at start).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_registry import GATEWAY_DESKS, MakeClient, MakeSettings, auth_header
from queries_records import T0, case, incident, label, order, request

from schemas import topics
from schemas.common import TrafficType
from schemas.kinds.commission import CaseState
from schemas.kinds.support import CapabilityArea, RequestState
from schemas.kinds.tasking import TaskDomain, TaskState
from schemas.labels import Classification
from services.commission.state import CaseRecord
from services.commission.state import encode_record as encode_case
from services.monitoring.records import IncidentRecord
from services.monitoring.records import encode_record as encode_incident
from services.runtime import kafka
from services.runtime.provision import provision
from services.runtime.settings import CommonSettings
from services.support import state as support
from services.tasking import state as tasking

pytestmark = pytest.mark.integration

DEADLINE_S = 30.0
Client = TestClient[Any, Any]


def state_specs(prefix: str) -> list[topics.TopicSpec]:
    """The four state topics the views read, as the registry declares them."""
    wanted = {topics.state_topic(e, prefix=prefix) for e in topics.STATE_ENTITIES}
    return [s for s in topics.registry(GATEWAY_DESKS, prefix=prefix) if s.name in wanted]


class StateWriter:
    """Writes state records the way the services do: their encoders, their keys."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.prefix = prefix
        self._producer = kafka.producer(
            CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix), client_id="test-state"
        )

    async def start(self) -> None:
        await asyncio.wait_for(self._producer.start(), DEADLINE_S)

    async def stop(self) -> None:
        await kafka.stop_client(self._producer, DEADLINE_S)

    async def put(self, entity: str, key: str, value: bytes | None) -> None:
        topic = topics.state_topic(entity, prefix=self.prefix)
        await asyncio.wait_for(self._producer.send_and_wait(topic, value, key=key.encode()), 30)

    async def incident(self, record: IncidentRecord) -> None:
        await self.put("incidents", record.incident_id, encode_incident(record))

    async def case(self, record: CaseRecord) -> None:
        await self.put("cases", record.case_id, encode_case(record))

    async def request(self, record: support.StateRecord) -> None:
        await self.put(
            "requests", support.state_key(record).decode(), support.encode_record(record)
        )

    async def order(self, record: tasking.StateRecord) -> None:
        key = tasking.state_key(record).decode()
        await self.put("orders", key, tasking.encode_record(record))


@pytest.fixture
async def state_prefix(kafka_bootstrap: str) -> str:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    report = await provision(kafka_bootstrap, state_specs(prefix), timeout_s=60.0)
    assert report.ok, report.drift
    return prefix


@pytest.fixture
async def writer(kafka_bootstrap: str, state_prefix: str) -> AsyncIterator[StateWriter]:
    state_writer = StateWriter(kafka_bootstrap, state_prefix)
    await state_writer.start()
    try:
        yield state_writer
    finally:
        await state_writer.stop()


StartGateway = Callable[[], Awaitable[Client]]


@pytest.fixture
def start_gateway(
    make_client: MakeClient, make_settings: MakeSettings, state_prefix: str
) -> StartGateway:
    """A gateway on the test's prefix, returned once its views answer."""

    async def start() -> Client:
        client = await make_client(make_settings(topic_prefix=state_prefix))
        await eventually(lambda: get(client, "/v1/cases", "fra.cell"), status=200)
        return client

    return start


@pytest.fixture
async def ready_client(gateway_client: Client) -> Client:
    """A gateway on the module's prefix once its views answer (its readers have settled:
    a client torn down mid-start-up trips over aiokafka's unclosed bootstrap connections)."""
    await eventually(lambda: get(gateway_client, "/v1/cases", "fra.cell"), status=200)
    return gateway_client


async def get(client: Client, path: str, desk: str | None) -> tuple[int, Any]:
    headers = auth_header(desk) if desk else {}
    async with asyncio.timeout(DEADLINE_S):
        response = await client.get(path, headers=headers)
        body = await response.json(content_type=None)
    return response.status, body


async def eventually(
    probe: Callable[[], Awaitable[tuple[int, Any]]],
    *,
    status: int,
    check: Callable[[Any], bool] = lambda _: True,
) -> Any:
    """Poll until ``probe`` answers ``status`` with a body passing ``check``."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            got, body = await probe()
            if got == status and check(body):
                return body
            await asyncio.sleep(0.1)


def ids(body: dict[str, Any], field: str, key: str) -> list[str]:
    return [item[key] for item in body[field]]


# --- incidents -----------------------------------------------------------------------------

DONBAS = "37.0,47.5,38.5,48.5"  # minLon,minLat,maxLon,maxLat around Donetsk


async def test_incidents_by_time_range_and_bounding_box(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    await writer.incident(incident("inc-a", lat=48.02, lon=37.80, start=T0))
    await writer.incident(incident("inc-b", lat=49.99, lon=36.23, start=T0 + timedelta(hours=3)))
    await writer.incident(incident("inc-c", lat=47.90, lon=37.60, start=T0 + timedelta(days=3)))
    client = await start_gateway()

    def window(since: datetime, until: datetime) -> str:
        return f"since={since.isoformat().replace('+00:00', 'Z')}&until={until.isoformat()}"

    # Overlap, not containment: the range starts inside inc-a's ten-minute window.
    day = window(T0 + timedelta(minutes=5), T0 + timedelta(hours=12)).replace("+", "%2B")
    status, body = await get(client, f"/v1/incidents?{day}&bbox={DONBAS}", "fra.cell")
    assert status == 200
    assert ids(body, "incidents", "incident_id") == ["inc-a"]
    answer = body["incidents"][0]
    assert answer["location"]["lat"] == 48.02
    assert answer["corroboration_count"] == 1
    assert answer["marking"].startswith("NATO RESTRICTED//REL TO")

    _, body = await get(client, f"/v1/incidents?{day}", "fra.cell")
    assert ids(body, "incidents", "incident_id") == ["inc-a", "inc-b"]
    _, body = await get(client, f"/v1/incidents?bbox={DONBAS}", "fra.cell")
    assert ids(body, "incidents", "incident_id") == ["inc-a", "inc-c"]
    _, body = await get(client, "/v1/incidents?limit=2", "fra.cell")
    assert ids(body, "incidents", "incident_id") == ["inc-a", "inc-b"]
    assert (body["total"], body["truncated"]) == (3, True)
    week = window(T0 + timedelta(days=2), T0 + timedelta(days=30)).replace("+", "%2B")
    _, body = await get(client, f"/v1/incidents?{week}", "fra.cell")
    assert ids(body, "incidents", "incident_id") == ["inc-c"]


async def test_every_answer_is_filtered_by_the_desks_releasability(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    where = {"lat": 48.0, "lon": 37.8, "start": T0}
    await writer.incident(incident("inc-open", **where))
    await writer.incident(incident("inc-relfu", sec=label(rel=("FRA", "USA")), **where))
    secret = label(Classification.NATO_SECRET)
    await writer.incident(incident("inc-secret", sec=secret, **where))
    await writer.incident(incident("inc-exercise", traffic=TrafficType.EXERCISE, **where))
    await writer.case(case("case-relfu", sec=label(rel=("FRA", "USA"))))
    client = await start_gateway()

    async def seen(desk: str) -> set[str]:
        status, body = await get(client, "/v1/incidents", desk)
        assert status == 200
        return set(ids(body, "incidents", "incident_id"))

    assert await seen("fra.cell") == {"inc-open", "inc-relfu", "inc-secret"}
    assert await seen("ukr.gs") == {"inc-open", "inc-secret"}  # UKR not in REL TO
    assert await seen("nld.def") == {"inc-open"}  # CONFIDENTIAL desk, NLD not in REL TO
    assert await seen("cell.watch") == {"inc-open", "inc-relfu", "inc-secret", "inc-exercise"}
    assert await seen("exr.training") == {"inc-exercise"}  # exercise-only, RESTRICTED

    # A case the desk may not see is absent from lists and 404 like an unknown id.
    status, body = await get(client, "/v1/cases/case-relfu", "usa.eucom")
    assert status == 200
    assert body["case"]["case_id"] == "case-relfu"
    hidden_status, hidden = await get(client, "/v1/cases/case-relfu", "ukr.gs")
    unknown_status, unknown = await get(client, "/v1/cases/case-nosuch", "ukr.gs")
    assert hidden_status == unknown_status == 404
    assert hidden["code"] == unknown["code"] == "not_found"
    _, body = await get(client, "/v1/cases", "ukr.gs")
    assert body["cases"] == []
    assert body["total"] == 0


# --- cases ----------------------------------------------------------------------------------


async def test_latest_version_wins_and_a_tombstone_deletes(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    await writer.case(case("case-0001", steps=1))
    await writer.case(case("case-0001", steps=3))
    client = await start_gateway()
    _, body = await get(client, "/v1/cases/case-0001", "fra.cell")
    assert body["case"]["version"] == 3

    await writer.case(case("case-0001", steps=4))  # while the views follow the topic
    await eventually(
        lambda: get(client, "/v1/cases/case-0001", "fra.cell"),
        status=200,
        check=lambda b: b["case"]["version"] == 4,
    )
    await writer.put("cases", "case-0001", None)
    await eventually(lambda: get(client, "/v1/cases/case-0001", "fra.cell"), status=404)
    _, body = await get(client, "/v1/cases", "fra.cell")
    assert body["cases"] == []


async def test_case_history_comes_back_in_order_and_cases_list_by_state(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    await writer.case(case("case-0002", steps=4))
    await writer.case(case("case-0003", steps=1, opened=T0 + timedelta(days=1)))
    await writer.case(case("case-0004", steps=4, opened=T0 + timedelta(days=2)))
    client = await start_gateway()

    status, body = await get(client, "/v1/cases/case-0002", "ukr.gs")
    assert status == 200
    history = body["history"]
    assert [h["action"] for h in history] == ["OPEN", "ADMIT", "INVESTIGATE", "DRAFT_FINDINGS"]
    assert [h["version"] for h in history] == [1, 2, 3, 4]
    assert [(h["from_state"], h["to_state"]) for h in history[:2]] == [
        (None, "ALLEGED"),
        ("ALLEGED", "PRELIMINARY_REVIEW"),
    ]
    assert history[1]["actor"] == "fra.commission"
    assert [p["member"] for p in body["positions"]] == ["fra.commission", "usa.commission"]
    assert body["case"]["state"] == "FINDINGS_DRAFTED"

    _, body = await get(client, "/v1/cases?state=FINDINGS_DRAFTED", "ukr.gs")
    assert ids(body, "cases", "case_id") == ["case-0002", "case-0004"]
    _, body = await get(client, f"/v1/cases?state={CaseState.ALLEGED}", "ukr.gs")
    assert ids(body, "cases", "case_id") == ["case-0003"]
    _, body = await get(client, "/v1/cases?limit=1", "ukr.gs")
    assert ids(body, "cases", "case_id") == ["case-0002"]
    assert body["truncated"] is True


async def test_an_undecodable_record_is_skipped_and_counted(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    await writer.put("cases", "case-bad", b'{"case": "not a case"}')
    await writer.case(case("case-0005"))
    client = await start_gateway()
    _, body = await get(client, "/v1/cases", "fra.cell")
    assert ids(body, "cases", "case_id") == ["case-0005"]
    response = await client.get("/metrics")
    text = await response.text()
    assert 'cell_gateway_view_records_total{entity="cases",outcome="undecodable"} 1.0' in text
    assert 'cell_gateway_view_records_total{entity="cases",outcome="applied"} 1.0' in text


# --- support requests --------------------------------------------------------------------


async def test_open_requests_by_area_with_totals_and_a_request_with_its_history(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    air = CapabilityArea.AIR_DEFENCE
    await writer.request(request("req-ad-1", area=air, lines=((100, 40, 0, 0), (20, 20, 10, 5))))
    await writer.request(
        request(
            "req-ad-2", area=air, state=RequestState.COMMITTED, rank=1, lines=((50,) * 3 + (10,),)
        )
    )
    await writer.request(request("req-ad-3", area=air, state=RequestState.CLOSED))
    await writer.request(request("req-dm-1", area=CapabilityArea.DEMINING, rank=5))
    client = await start_gateway()

    status, body = await get(client, "/v1/requests?open=true&area=AIR_DEFENCE", "usa.eucom")
    assert status == 200
    assert ids(body, "requests", "request_id") == ["req-ad-2", "req-ad-1"]  # by priority rank
    totals = {r["request_id"]: r["totals"] for r in body["requests"]}
    assert totals["req-ad-1"] == {"requested": 120, "offered": 60, "committed": 10, "delivered": 5}
    assert totals["req-ad-2"] == {"requested": 50, "offered": 50, "committed": 50, "delivered": 10}
    assert body["areas"] == [
        {
            "capability_area": "AIR_DEFENCE",
            "requests": 2,
            "totals": {"requested": 170, "offered": 110, "committed": 60, "delivered": 15},
        }
    ]
    _, body = await get(client, "/v1/requests", "usa.eucom")  # open by default, every area
    assert ids(body, "requests", "request_id") == ["req-ad-2", "req-dm-1", "req-ad-1"]
    assert [a["capability_area"] for a in body["areas"]] == ["AIR_DEFENCE", "DEMINING"]
    _, body = await get(client, "/v1/requests?open=false&area=AIR_DEFENCE", "usa.eucom")
    assert set(ids(body, "requests", "request_id")) == {"req-ad-1", "req-ad-2", "req-ad-3"}

    status, body = await get(client, "/v1/requests/req-ad-1", "ukr.gs")
    assert status == 200
    assert body["summary"]["state"] == "SOURCING"
    assert [(line["line_no"], line["offered"]) for line in body["lines"]] == [(1, 40), (2, 20)]
    assert body["lines"][0]["item"] == "Item 1"
    assert [h["action"] for h in body["history"]] == ["FILE", "VALIDATE"]


# --- tasking --------------------------------------------------------------------------------


async def test_tasks_by_nation_status_domain_and_an_order_with_its_tasks(
    writer: StateWriter, start_gateway: StartGateway
) -> None:
    land, sea = TaskDomain.LAND, TaskDomain.MARITIME
    await writer.order(
        order(
            "opord-0001",
            (
                ("t1", "FRA", land, TaskState.COMPLETED),
                ("t2", "NLD", sea, TaskState.CANNOT_COMPLY),
                ("t3", "USA", land, TaskState.RECEIVED),
            ),
        )
    )
    await writer.order(order("opord-0002", (("t1", "FRA", sea, TaskState.IN_PROGRESS),)))
    secret = label(Classification.NATO_SECRET)
    await writer.order(order("opord-0003", (("t1", "NLD", sea, TaskState.RECEIVED),), sec=secret))
    client = await start_gateway()

    async def tasks(query: str, desk: str = "fra.cell") -> list[tuple[str, str]]:
        status, body = await get(client, f"/v1/tasks?{query}", desk)
        assert status == 200
        return [(t["order_id"], t["task_id"]) for t in body["tasks"]]

    assert await tasks("nation=FRA") == [("opord-0001", "t1"), ("opord-0002", "t1")]
    assert await tasks("status=CANNOT_COMPLY") == [("opord-0001", "t2")]
    assert await tasks("domain=MARITIME") == [
        ("opord-0001", "t2"),
        ("opord-0002", "t1"),
        ("opord-0003", "t1"),
    ]
    assert await tasks("domain=MARITIME", desk="nld.def") == [  # not cleared for opord-0003
        ("opord-0001", "t2"),
        ("opord-0002", "t1"),
    ]
    assert await tasks("nation=FRA&domain=LAND&status=COMPLETED") == [("opord-0001", "t1")]
    assert await tasks("nation=GBR") == []

    status, body = await get(client, "/v1/orders/opord-0001", "nld.def")
    assert status == 200
    assert [(t["task_id"], t["nation"], t["state"]) for t in body["tasks"]] == [
        ("t1", "FRA", "COMPLETED"),
        ("t2", "NLD", "CANNOT_COMPLY"),
        ("t3", "USA", "RECEIVED"),
    ]
    assert body["tasks"][1]["reason"] == "No suitable unit available."
    assert (await get(client, "/v1/orders/opord-0003", "nld.def"))[0] == 404


# --- refusals and availability ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/v1/incidents?bbox=37,47,38", "bbox"),
        ("/v1/incidents?bbox=37,49,38,48", "bbox"),  # minLat above maxLat
        ("/v1/incidents?bbox=37,47,191,48", "bbox"),
        ("/v1/incidents?bbox=a,b,c,d", "bbox"),
        ("/v1/incidents?since=2026-03-15T00:00:00Z&until=2026-03-14T00:00:00Z", "until"),
        ("/v1/incidents?since=yesterday", "since"),
        ("/v1/incidents?until=2026-03-14T12:00:00", "until"),  # no zone
        ("/v1/incidents?limit=0", "limit"),
        ("/v1/incidents?limit=1001", "limit"),
        ("/v1/cases?state=OPEN", "state"),
        ("/v1/requests?open=yes", "open"),
        ("/v1/requests?area=SPACE", "area"),
        ("/v1/tasks?nation=fr", "nation"),
        ("/v1/tasks?status=DONE", "status"),
        ("/v1/tasks?domain=SPACE", "domain"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(
    ready_client: Client, query: str, parameter: str
) -> None:
    status, body = await get(ready_client, query, "fra.cell")
    assert status == 400
    assert body["code"] == "invalid_parameter"
    assert body["errors"][0]["path"] == parameter
    assert f"`{parameter}`" in body["detail"]


async def test_queries_need_credentials(ready_client: Client) -> None:
    for path in ("/v1/incidents", "/v1/cases/case-0001", "/v1/requests", "/v1/tasks"):
        status, body = await get(ready_client, path, None)
        assert status == 401
        assert body["code"] == "unauthenticated"


async def test_503_until_the_views_have_caught_up_then_answers(
    kafka_bootstrap: str, make_client: MakeClient, make_settings: MakeSettings
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."  # no topics yet
    client = await make_client(make_settings(topic_prefix=prefix))
    status, body = await get(client, "/v1/incidents", "fra.cell")
    assert status == 503
    assert body["code"] == "views_unavailable"
    assert (await client.get("/v1/cases/x", headers=auth_header("fra.cell"))).headers[
        "Retry-After"
    ] == "2"
    assert (await get(client, "/healthz", None))[0] == 200  # the gateway itself is up

    report = await provision(kafka_bootstrap, state_specs(prefix), timeout_s=60.0)
    assert report.ok, report.drift
    body = await eventually(lambda: get(client, "/v1/incidents", "fra.cell"), status=200)
    assert body == {"incidents": [], "total": 0, "truncated": False}


async def test_broker_unreachable_queries_503_and_submissions_path_unaffected(
    make_client: MakeClient, make_settings: MakeSettings
) -> None:
    client = await make_client(make_settings(kafka_bootstrap="127.0.0.1:9", kafka_timeout_s=1.0))
    status, body = await get(client, "/v1/tasks?nation=FRA", "fra.cell")
    assert status == 503
    assert body["code"] == "views_unavailable"
    # Parameter validation does not depend on Kafka; neither does the rest of the gateway.
    assert (await get(client, "/v1/tasks?nation=fr", "fra.cell"))[0] == 400
    assert (await get(client, "/v1/openapi.json", None))[0] == 200


async def test_views_that_cannot_catch_up_leave_the_gateway_ready_for_submissions(
    kafka_bootstrap: str,
    gateway_topics: str,
    make_client: MakeClient,
    make_settings: MakeSettings,
) -> None:
    # A catch-up deadline no session can meet (there is a record to read): the views start
    # over and over, queries answer 503, and readiness only reports it.
    state_writer = StateWriter(kafka_bootstrap, gateway_topics)
    await state_writer.start()
    try:
        await state_writer.case(case("case-ready"))
    finally:
        await state_writer.stop()
    client = await make_client(make_settings(views_catchup_timeout_s=1e-6))
    body = await eventually(lambda: get(client, "/readyz", None), status=200)
    assert body["status"] == "ready"
    assert body["views"]["state"] == "starting"
    status, problem = await get(client, "/v1/cases/case-ready", "fra.cell")
    assert status == 503
    assert problem["code"] == "views_unavailable"


async def test_readiness_reports_the_views_as_information(gateway_client: Client) -> None:
    body = await eventually(
        lambda: get(gateway_client, "/readyz", None),
        status=200,
        check=lambda b: b.get("views", {}).get("state") == "ready",
    )
    assert body["status"] == "ready"
    assert set(body["views"]["entries"]) == {"incidents", "cases", "requests", "orders"}
