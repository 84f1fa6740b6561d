"""The 3-node mode the fault tests stand on: RF 3, min ISR 2, kill -9 / pause / restart."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from deploy.kafka.launcher import KafkaCluster
from services.runtime import kafka
from services.runtime.settings import CommonSettings

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


async def _isr(bootstrap: str, topic: str) -> list[int] | str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await admin.start()
        (desc,) = await admin.describe_topics([topic])
        return sorted(desc["partitions"][0]["isr"])
    except KafkaError as exc:  # the admin client may pick the node we just killed
        return repr(exc)
    finally:
        await admin.close()


async def _wait_isr(bootstrap: str, topic: str, expected: list[int], timeout_s: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (isr := await _isr(bootstrap, topic)) != expected:
        assert loop.time() < deadline, f"ISR {isr} never became {expected}"
        await asyncio.sleep(0.5)


async def test_acks_all_survives_one_node_and_refuses_when_two_are_gone(tmp_path):
    cluster = KafkaCluster.create(tmp_path / "c3", size=3).start()
    settings = CommonSettings(kafka_bootstrap=cluster.bootstrap, kafka_timeout_s=5)
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            # Replication factor and min ISR come from the cluster's defaults (3 and 2).
            await admin.create_topics([NewTopic("guarded", 1, 3)])
        finally:
            await admin.close()
        await _wait_isr(cluster.bootstrap, "guarded", [1, 2, 3])

        producer = kafka.producer(settings, client_id="p")
        await producer.start()
        try:
            await producer.send_and_wait("guarded", b"before")
            cluster.node(3).kill()  # kill -9
            await _wait_isr(cluster.bootstrap, "guarded", [1, 2])
            meta = await asyncio.wait_for(producer.send_and_wait("guarded", b"one down"), 60)
            assert meta.offset == 1

            cluster.node(2).pause()  # SIGSTOP: below min ISR once the leader drops it
            try:
                with pytest.raises((KafkaError, TimeoutError)):
                    await asyncio.wait_for(producer.send_and_wait("guarded", b"refused"), 30)
            finally:
                cluster.node(2).resume()
        finally:
            await producer.stop()

        cluster.restart_node(3)  # same storage, no re-format
        await _wait_isr(cluster.bootstrap, "guarded", [1, 2, 3])
    finally:
        cluster.stop()
    assert not any(n.running() for n in cluster.nodes)
