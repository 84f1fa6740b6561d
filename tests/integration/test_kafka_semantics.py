"""The broker is real and our client settings give the delivery semantics we promise."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.runtime import kafka, transaction
from services.runtime.errors import BrokerUnavailable
from services.runtime.outbox import Output
from services.runtime.settings import CommonSettings

pytestmark = pytest.mark.integration
TIMEOUT_S = 30.0


def _settings(bootstrap: str) -> CommonSettings:
    return CommonSettings(kafka_bootstrap=bootstrap)


async def _drain(consumer, expected: int) -> list:
    records: list = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_S
    while len(records) < expected and loop.time() < deadline:
        batch = await consumer.getmany(timeout_ms=500)
        for part in batch.values():
            records.extend(part)
    return records


async def _read_all(bootstrap: str, topic: str, *, isolation: str, expected: int) -> list[bytes]:
    consumer = kafka.consumer(
        _settings(bootstrap), topic, group_id=None, client_id="reader", isolation_level=isolation
    )
    await consumer.start()
    try:
        records = await _drain(consumer, expected)
        # Read on a little past the expected count: more than that is a failure too.
        for part in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(part)
        return [r.value for r in records]
    finally:
        await consumer.stop()


async def test_idempotent_acks_all_producer_delivers_in_order(
    kafka_bootstrap, unique, create_topics
):
    (topic,) = await create_topics(unique("out"))
    producer = kafka.producer(_settings(kafka_bootstrap), client_id="p")
    # Our factory's delivery settings, as aiokafka resolved them.
    assert producer._txn_manager is not None  # idempotence on
    assert producer._sender._acks == -1  # acks=all
    await producer.start()
    try:
        sends = [await producer.send(topic, f"m{i}".encode(), key=b"k") for i in range(200)]
        metas = await asyncio.wait_for(asyncio.gather(*sends), TIMEOUT_S)
    finally:
        await producer.stop()
    assert [m.offset for m in metas] == list(range(200))
    values = await _read_all(kafka_bootstrap, topic, isolation="read_committed", expected=200)
    assert values == [f"m{i}".encode() for i in range(200)]


async def _transform(bootstrap: str, source: str, sink: str, group: str, *, commit: bool) -> None:
    """One consume-transform-produce transaction over everything currently in `source`."""
    settings = _settings(bootstrap)
    consumer = kafka.consumer(settings, source, group_id=group, client_id="eos")
    producer = kafka.producer(settings, client_id="eos", transactional_id=f"{group}-tx")
    await consumer.start()
    await producer.start()
    try:
        records = await _drain(consumer, 3)
        assert len(records) == 3
        await producer.begin_transaction()
        for r in records:
            await producer.send(sink, r.value.upper(), key=r.key)
        tp = TopicPartition(source, 0)
        await producer.send_offsets_to_transaction({tp: records[-1].offset + 1}, group)
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()
    finally:
        await producer.stop()
        await consumer.stop()


async def test_transactions_commit_and_abort(kafka_bootstrap, unique, create_topics):
    source, committed_sink, aborted_sink = await create_topics(
        unique("in"), unique("ok"), unique("aborted")
    )
    producer = kafka.producer(_settings(kafka_bootstrap), client_id="seed")
    await producer.start()
    try:
        for v in (b"a", b"b", b"c"):
            await producer.send_and_wait(source, v)
    finally:
        await producer.stop()

    await _transform(kafka_bootstrap, source, aborted_sink, unique("g1"), commit=False)
    await _transform(kafka_bootstrap, source, committed_sink, unique("g2"), commit=True)

    assert await _read_all(
        kafka_bootstrap, committed_sink, isolation="read_committed", expected=3
    ) == [b"A", b"B", b"C"]
    # The aborted records were written (read_uncommitted sees them) but never committed.
    assert (
        await _read_all(kafka_bootstrap, aborted_sink, isolation="read_committed", expected=0) == []
    )
    assert await _read_all(
        kafka_bootstrap, aborted_sink, isolation="read_uncommitted", expected=3
    ) == [b"A", b"B", b"C"]


async def test_consumer_group_resumes_from_its_commit(kafka_bootstrap, unique, create_topics):
    (topic,) = await create_topics(unique("work"))
    group = unique("group")
    settings = _settings(kafka_bootstrap)
    producer = kafka.producer(settings, client_id="seed")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, str(i).encode())
    finally:
        await producer.stop()

    tp = TopicPartition(topic, 0)
    first = kafka.consumer(settings, topic, group_id=group, client_id="c1")
    await first.start()
    try:
        handled = (await _drain(first, 10))[:6]
        # Handle six, commit after handling them, then "crash" before the rest.
        await first.commit({tp: handled[-1].offset + 1})
    finally:
        await first.stop()

    second = kafka.consumer(settings, topic, group_id=group, client_id="c2")
    await second.start()
    try:
        rest = await _drain(second, 4)
    finally:
        await second.stop()
    assert [r.value for r in rest] == [b"6", b"7", b"8", b"9"]


async def test_transaction_commit_is_all_or_nothing_and_a_broken_producer_is_classified(
    kafka_bootstrap, unique, create_topics
):
    """`transaction.commit`: records and offsets together; a dead sender is BrokerUnavailable.

    aiokafka leaves its transaction manager in a fatal state when the sender task dies (seen
    when a broker leader is killed): the next transaction fails an internal assertion, which
    used to end the router. It must surface as the retriable error the sessions restart on.
    """
    out, source = await create_topics(unique("out"), unique("in"))
    group = unique("group")
    settings = _settings(kafka_bootstrap)
    producer = kafka.producer(settings, client_id="tx", transactional_id=unique("tx"))
    await producer.start()
    try:
        records = [Output(topic=out, key=b"k", value=f"m{i}".encode()) for i in range(5)]
        await transaction.commit(
            producer, records, offsets={TopicPartition(source, 0): 7}, group=group, timeout_s=30
        )
        producer._txn_manager.fatal_error(KafkaError("sender task died"))  # as _fail_all does
        with pytest.raises(BrokerUnavailable, match="unusable"):
            await transaction.commit(producer, records[:1], offsets=None, group=group, timeout_s=30)
    finally:
        await kafka.stop_client(producer, TIMEOUT_S)
    values = await _read_all(kafka_bootstrap, out, isolation="read_committed", expected=5)
    assert values == [f"m{i}".encode() for i in range(5)]
    admin = kafka.admin(settings, client_id="check")
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    assert committed[TopicPartition(source, 0)].offset == 7


async def test_a_sender_dying_mid_transaction_is_classified(kafka_bootstrap, unique, create_topics):
    """The sender dies between two sends of one transaction (a leader killed mid-batch): the
    next send raises aiokafka's IllegalOperation, which is no KafkaError and used to end the
    router (CI, leader kill test). It must be the retriable BrokerUnavailable, and nothing of
    the transaction may become visible."""
    (out,) = await create_topics(unique("out"))
    producer = kafka.producer(
        _settings(kafka_bootstrap), client_id="tx", transactional_id=unique("tx")
    )
    await producer.start()

    def dying() -> Iterator[Output]:
        yield Output(topic=out, key=b"k", value=b"first")
        producer._txn_manager.fatal_error(KafkaError("sender task died"))  # as _fail_all does
        yield Output(topic=out, key=b"k", value=b"second")

    try:
        with pytest.raises(BrokerUnavailable, match="IllegalOperation"):
            await transaction.commit(
                producer, dying(), offsets=None, group=unique("group"), timeout_s=30
            )
    finally:
        await kafka.stop_client(producer, 5)
    assert await _read_all(kafka_bootstrap, out, isolation="read_committed", expected=0) == []
