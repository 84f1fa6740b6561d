"""POST /v1/messages against the real broker: 202 only once the record is on its lane."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import codec
from schemas.precedence import Precedence
from schemas.topics import submit_topic

pytestmark = pytest.mark.integration


async def read_record(bootstrap: str, topic: str, partition: int, offset: int) -> Any:
    """The record at (topic, partition, offset), read back with read_committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        request_timeout_ms=30_000,
    )
    await asyncio.wait_for(consumer.start(), 30)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=10_000, max_records=1)
        records = batch.get(tp, [])
        assert records, f"nothing at {topic}[{partition}]@{offset}"
        return records[0]
    finally:
        await asyncio.wait_for(consumer.stop(), 30)


async def test_submit_is_acknowledged_after_the_record_is_on_kafka(
    gateway_client, auth, new_submission, gateway_settings
):
    message_id = str(uuid.uuid4())
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await gateway_client.post(
        "/v1/messages",
        json=new_submission(message_id=message_id),
        headers=auth("fra.cell") | {"traceparent": traceparent},
    )
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["message_id"] == message_id
    assert body["topic"] == submit_topic(Precedence.ROUTINE, prefix=gateway_settings.topic_prefix)
    assert response.headers["Location"] == f"/v1/messages/{message_id}"
    record = await read_record(
        gateway_settings.kafka_bootstrap, body["topic"], body["partition"], body["offset"]
    )
    envelope = codec.decode(record.value)
    assert str(envelope.message_id) == message_id
    assert envelope.originator == "fra.cell"
    assert record.key == b"fra.cell"
    assert envelope.dtg == body["dtg"]
    headers = list(record.headers)
    assert codec.header_value(headers, codec.HEADER_ORIGINATOR) == "fra.cell"
    propagated = codec.header_value(headers, codec.HEADER_TRACEPARENT)
    assert propagated is not None
    assert propagated.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"  # same trace


async def post(client, desk: str, payload: Any, auth, path: str = "/v1/messages", **kwargs: Any):
    return await client.post(path, json=payload, headers=auth(desk), **kwargs)


async def test_originator_in_the_body_is_refused_as_an_unknown_field(
    gateway_client, auth, new_submission
):
    response = await post(gateway_client, "nld.def", new_submission(originator="usa.eucom"), auth)
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["code"] == "invalid_input"
    assert problem["errors"][0]["path"] == "$.originator"
    assert problem["type"].endswith(":invalid_input")


async def test_retry_with_the_same_message_id_is_accepted_again(
    gateway_client, auth, new_submission, gateway_settings
):
    payload = new_submission(message_id=str(uuid.uuid4()))
    first = await post(gateway_client, "usa.eucom", payload, auth)
    second = await post(gateway_client, "usa.eucom", payload, auth)
    assert (first.status, second.status) == (202, 202)
    a, b = await first.json(), await second.json()
    assert a["message_id"] == b["message_id"] == payload["message_id"]
    # Same originator key: same partition, so the router sees both where its dedup state is.
    assert a["partition"] == b["partition"]
    assert b["offset"] > a["offset"]
    for body in (a, b):
        record = await read_record(
            gateway_settings.kafka_bootstrap, body["topic"], body["partition"], body["offset"]
        )
        assert str(codec.decode(record.value).message_id) == payload["message_id"]


async def test_flash_goes_to_the_flash_lane(gateway_client, auth, new_submission, gateway_settings):
    response = await post(
        gateway_client, "cell.watch", new_submission(precedence="FLASH", action_to=["ALL"]), auth
    )
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["topic"] == submit_topic(Precedence.FLASH, prefix=gateway_settings.topic_prefix)
    assert body["precedence"] == "FLASH"
    record = await read_record(
        gateway_settings.kafka_bootstrap, body["topic"], body["partition"], body["offset"]
    )
    assert codec.header_value(list(record.headers), codec.HEADER_PRECEDENCE) == "FLASH"


async def test_flash_needs_the_flash_role(gateway_client, auth, new_submission):
    response = await post(gateway_client, "nld.def", new_submission(precedence="FLASH"), auth)
    assert response.status == 403
    problem = await response.json()
    assert problem["code"] == "flash_not_permitted"
    assert problem["errors"][0]["path"] == "$.primary_precedence"


async def test_exercise_desk_may_not_send_operation_traffic(gateway_client, auth, new_submission):
    refused = await post(gateway_client, "exr.training", new_submission(), auth)
    assert refused.status == 403
    assert (await refused.json())["code"] == "exercise_only"
    accepted = await post(
        gateway_client, "exr.training", new_submission(traffic_type="EXERCISE"), auth
    )
    assert accepted.status == 202


async def test_desk_outside_exercises_may_not_send_exercise_traffic(
    gateway_client, auth, new_submission
):
    # nld.def is neither exercise-only nor exercise-enabled; cell.watch is exercise-enabled.
    for traffic_type in ("EXERCISE", "DRILL"):
        refused = await post(
            gateway_client, "nld.def", new_submission(traffic_type=traffic_type), auth
        )
        assert refused.status == 403
        problem = await refused.json()
        assert problem["code"] == "exercise_not_permitted"
        assert problem["errors"][0] == {
            "path": "$.traffic_type",
            "message": f"{traffic_type} not permitted",
        }
    accepted = await post(
        gateway_client, "cell.watch", new_submission(traffic_type="EXERCISE"), auth
    )
    assert accepted.status == 202


async def test_missing_and_invalid_credentials_are_401(gateway_client, new_submission):
    missing = await gateway_client.post("/v1/messages", json=new_submission())
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="paris-cell"'
    wrong = await gateway_client.post(
        "/v1/messages", json=new_submission(), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401
    assert (await wrong.json())["code"] == "unauthenticated"
    basic = await gateway_client.post(
        "/v1/messages", json=new_submission(), headers={"Authorization": "Basic Zm9vOmJhcg=="}
    )
    assert basic.status == 401


async def test_malformed_json_is_400(gateway_client, auth):
    response = await gateway_client.post(
        "/v1/messages",
        data=b'{"traffic_type": ',
        headers=auth("fra.cell") | {"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert (await response.json())["code"] == "malformed_json"


async def test_validation_errors_are_422_with_the_field_path(gateway_client, auth, new_submission):
    payload = new_submission()
    payload["label"]["releasable_to"] = ["usa"]
    response = await post(gateway_client, "fra.cell", payload, auth)
    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["path"] == "$.label.releasable_to[0]"
    del payload["label"]
    response = await post(gateway_client, "fra.cell", payload, auth)
    assert (await response.json())["errors"][0]["path"] == "$.label"


async def test_wrong_content_type_is_415(gateway_client, auth):
    response = await gateway_client.post(
        "/v1/messages", data=b"hello", headers=auth("fra.cell") | {"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert (await response.json())["code"] == "unsupported_media_type"


async def test_oversized_body_is_413_before_parsing(make_client, make_settings, auth):
    client = await make_client(make_settings(max_body_bytes=2048, rate_bytes_burst=4096))
    response = await client.post(
        "/v1/messages",
        data=b"{" + b" " * 5000 + b"}",
        headers=auth("fra.cell") | {"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["code"] == "payload_too_large"


async def test_exceeding_the_desk_rate_is_429_with_retry_after(
    make_client, make_settings, auth, new_submission
):
    settings = make_settings(rate_messages_per_s=0.01, rate_messages_burst=2, max_batch=2)
    client = await make_client(settings)
    statuses = [(await post(client, "ukr.gs", new_submission(), auth)).status for _ in range(2)]
    assert statuses == [202, 202]
    limited = await post(client, "ukr.gs", new_submission(), auth)
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await limited.json())["code"] == "rate_limited"
    # Limits are per desk: another desk is unaffected.
    assert (await post(client, "fra.cell", new_submission(), auth)).status == 202


async def test_batch_all_accepted_is_202(gateway_client, auth, new_submission):
    items = [new_submission(), new_submission(precedence="PRIORITY")]
    response = await post(
        gateway_client, "fra.cell", {"submissions": items}, auth, "/v1/messages:batch"
    )
    assert response.status == 202, await response.text()
    result = await response.json()
    assert result["accepted"] == 2
    assert [item["status"] for item in result["results"]] == [202, 202]
    assert result["results"][1]["accepted"]["topic"].endswith("cell.submit.priority")


async def test_batch_with_a_bad_item_is_207_with_per_item_results(
    gateway_client, auth, new_submission
):
    bad = new_submission(originator="usa.eucom")
    items = [new_submission(), bad, new_submission(precedence="FLASH")]
    response = await post(
        gateway_client, "fra.cell", {"submissions": items}, auth, "/v1/messages:batch"
    )
    assert response.status == 207
    result = await response.json()
    assert [item["status"] for item in result["results"]] == [202, 422, 403]
    assert result["results"][1]["problem"]["errors"][0]["path"] == "$.submissions[1].originator"
    assert result["accepted"] == 1
    assert result["failed"] == 2


async def test_batch_over_the_limit_is_413(make_client, make_settings, auth, new_submission):
    client = await make_client(make_settings(max_batch=2))
    items = [new_submission() for _ in range(3)]
    response = await post(client, "fra.cell", {"submissions": items}, auth, "/v1/messages:batch")
    assert response.status == 413
    assert (await response.json())["code"] == "batch_too_large"


async def test_a_date_time_at_the_edge_of_the_calendar_is_422_not_500(
    gateway_client, auth, new_submission
):
    # Valid ISO 8601, but one year 1 minus two hours overflows when converted to UTC.
    body = new_submission(created_at="0001-01-01T00:04:00+02:00")
    response = await gateway_client.post("/v1/messages", json=body, headers=auth("fra.cell"))
    assert response.status == 422, await response.text()
    assert (await response.json())["code"] == "invalid_input"


async def test_a_batch_item_with_an_unknown_nested_field_is_refused_alone(
    gateway_client, auth, new_submission
):
    bad = new_submission()
    bad["label"]["is_admin"] = True
    items = [new_submission(), bad]
    response = await post(
        gateway_client, "fra.cell", {"submissions": items}, auth, "/v1/messages:batch"
    )
    assert response.status == 207
    results = (await response.json())["results"]
    assert [item["status"] for item in results] == [202, 422]
    error = results[1]["problem"]["errors"][0]
    assert error["path"] == "$.submissions[1].label.is_admin"
    assert error["message"] == "Object contains unknown field `is_admin`"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"submissions": [], "extra": 1}', 422, "invalid_input"),
        (b'{"submissions": {}}', 422, "invalid_input"),
        (b"[]", 422, "invalid_input"),
        (b'{"submissions": [{"subject": 1}', 400, "malformed_json"),
    ],
)
async def test_a_batch_body_of_the_wrong_shape_is_refused_whole(
    gateway_client, auth, body, status, code
):
    response = await gateway_client.post(
        "/v1/messages:batch",
        data=body,
        headers={**auth("fra.cell"), "Content-Type": "application/json"},
    )
    assert response.status == status, await response.text()
    assert (await response.json())["code"] == code
