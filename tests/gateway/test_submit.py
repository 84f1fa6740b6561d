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
