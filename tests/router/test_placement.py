"""The router's own key placement and batched transactions.

The router places its keyed outputs itself (``placement``) and sends them as one record batch
per topic partition (``transaction.commit(batched=True)``). Readers must see exactly what the
default partitioner and per-record sends gave them: the same partition for a key, the same
order within a partition, every header, all or nothing per transaction.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as kafka_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from services.router.outputs import Output
from services.router.placement import place
from services.runtime import kafka, transaction
from services.runtime.errors import BrokerUnavailable
from services.runtime.partitioner import murmur2, partition_of
from services.runtime.settings import CommonSettings

TIMEOUT_S = 30.0


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_murmur2_is_the_kafka_clients_murmur2(data: bytes) -> None:
    assert murmur2(data) == kafka_murmur2(data)


@given(st.binary(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
@settings(max_examples=500)
def test_placement_is_the_default_partitioners(key: bytes, count: int) -> None:
    partitions = list(range(count))
    expected = DefaultPartitioner()(key, partitions, partitions)
    assert partition_of(key, count) == expected
    assert partition_of(key, count) == expected  # from the cached hash


async def _read(bootstrap: str, topic: str, expected: int) -> list:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await asyncio.wait_for(consumer.start(), TIMEOUT_S)
    records: list = []
    try:
        deadline = asyncio.get_running_loop().time() + TIMEOUT_S
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for part in batch.values() for r in part)
        if expected == 0:  # nothing may appear: give a stray record the time to show up
            batch = await consumer.getmany(timeout_ms=2000)
            records.extend(r for part in batch.values() for r in part)
    finally:
        await asyncio.wait_for(consumer.stop(), TIMEOUT_S)
    return records


async def _place_and_commit(
    producer: object, outputs: list[Output], source: TopicPartition, offset: int, group: str
) -> None:
    placed = await place(producer, outputs, TIMEOUT_S)
    assert [p.partition is None for p in placed] == [o.key is None for o in outputs]
    await transaction.commit(
        producer,
        placed,
        offsets={source: offset},
        group=group,
        timeout_s=TIMEOUT_S,
        batched=True,
    )


async def _committed(settings: CommonSettings, group: str) -> dict:
    admin = kafka.admin(settings, client_id="check")
    await asyncio.wait_for(admin.start(), TIMEOUT_S)
    try:
        return await asyncio.wait_for(admin.list_consumer_group_offsets(group), TIMEOUT_S)
    finally:
        await admin.close()


@pytest.mark.integration
async def test_a_batched_transaction_keeps_placement_order_and_headers(
    kafka_bootstrap, unique, create_topics
):
    keyed, reference = await create_topics(unique("keyed"), unique("ref"), partitions=5)
    bulk, source = await create_topics(unique("bulk"), unique("source"))
    group = unique("group")
    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap)
    keys = [str(uuid.uuid4()).encode() for _ in range(40)]
    # Each key twice, interleaved: the order of one key's records is what a reader relies on.
    outputs = [
        Output(topic=keyed, key=key, value=f"{n}:{i}".encode(), headers=(("n", str(n).encode()),))
        for n in range(2)
        for i, key in enumerate(keys)
    ]
    # About 600 KB for one partition: more than one batch (max_batch_size 256 KB).
    outputs += [Output(topic=bulk, key=b"b", value=b"%05d" % i + b"x" * 1000) for i in range(600)]
    outputs.append(Output(topic=keyed, key=None, value=b"unkeyed"))
    producer = kafka.producer(settings, client_id="placed", transactional_id=unique("tx"))
    plain = kafka.producer(settings, client_id="plain")
    await asyncio.wait_for(asyncio.gather(producer.start(), plain.start()), TIMEOUT_S)
    try:
        await _place_and_commit(producer, outputs, TopicPartition(source, 0), 42, group)
        sent = [await plain.send(reference, key=key, value=b"") for key in keys]
        expected_partition = {key: (await sent[i]).partition for i, key in enumerate(keys)}
    finally:
        await kafka.stop_client(producer, TIMEOUT_S)
        await kafka.stop_client(plain, TIMEOUT_S)

    got = await _read(kafka_bootstrap, keyed, expected=81)
    assert len(got) == 81
    assert [r.value for r in got if r.key is None] == [b"unkeyed"]
    for key in keys:
        mine = [r for r in got if r.key == key]
        assert {r.partition for r in mine} == {expected_partition[key]}
        i = keys.index(key)
        assert [r.value for r in mine] == [f"0:{i}".encode(), f"1:{i}".encode()]
        assert [list(r.headers) for r in mine] == [[("n", b"0")], [("n", b"1")]]
    bulk_records = await _read(kafka_bootstrap, bulk, expected=600)
    assert [r.value[:5] for r in bulk_records] == [b"%05d" % i for i in range(600)]
    committed = await _committed(settings, group)
    assert committed[TopicPartition(source, 0)].offset == 42


@pytest.mark.integration
async def test_a_failed_batch_aborts_the_whole_batched_transaction(
    kafka_bootstrap, unique, create_topics
):
    """One batch the broker refuses (too large for its topic): no other batch of the
    transaction, and no offset, becomes visible."""
    (good,) = await create_topics(unique("good"), partitions=3)
    (small,) = await create_topics(unique("small"), configs={"max.message.bytes": "2000"})
    (source,) = await create_topics(unique("source"))
    group = unique("group")
    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap)
    outputs = [Output(topic=good, key=f"k{i}".encode(), value=b"ok") for i in range(30)]
    outputs.append(Output(topic=small, key=b"big", value=b"x" * 10_000))
    producer = kafka.producer(settings, client_id="placed", transactional_id=unique("tx"))
    await asyncio.wait_for(producer.start(), TIMEOUT_S)
    try:
        with pytest.raises((KafkaError, BrokerUnavailable)):
            await _place_and_commit(producer, outputs, TopicPartition(source, 0), 5, group)
    finally:
        await kafka.stop_client(producer, TIMEOUT_S)
    assert await _read(kafka_bootstrap, good, expected=0) == []
    assert TopicPartition(source, 0) not in await _committed(settings, group)
