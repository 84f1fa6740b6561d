"""Kafka unavailable: 503 with Retry-After within the deadline, and recovery without restart."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from deploy.kafka.launcher import KafkaCluster, free_port
from schemas import topics
from services.runtime.provision import provision

pytestmark = pytest.mark.integration

# Bound on each HTTP call: a hang fails the test instead of waiting for pytest's timeout.
CALL_TIMEOUT = aiohttp.ClientTimeout(total=30)


async def test_no_broker_gives_503_with_retry_after(
    make_client, make_settings, auth, new_submission
):
    settings = make_settings(kafka_bootstrap=f"127.0.0.1:{free_port()}", publish_deadline_s=2.0)
    client = await make_client(settings)
    message_id = str(uuid.uuid4())
    response = await client.post(
        "/v1/messages",
        json=new_submission(message_id=message_id),
        headers=auth("fra.cell"),
        timeout=CALL_TIMEOUT,
    )
    assert response.status == 503
    assert response.headers["Retry-After"] == str(settings.retry_after_s)
    problem = await response.json()
    assert problem["code"] == "broker_unavailable"
    assert problem["message_id"] == message_id  # retry with it: delivered once either way
    batch = await client.post(
        "/v1/messages:batch",
        json={"submissions": [new_submission()]},
        headers=auth("fra.cell"),
        timeout=CALL_TIMEOUT,
    )
    assert batch.status == 503
    assert "Retry-After" in batch.headers
    ready = await client.get("/readyz", timeout=CALL_TIMEOUT)
    assert ready.status == 503
    assert (await client.get("/healthz")).status == 200


@pytest.mark.slow
async def test_service_resumes_after_the_broker_restarts(  # noqa: PLR0917 - fixtures
    tmp_path, make_client, make_settings, gateway_desks, auth, new_submission
):
    cluster = KafkaCluster.create(tmp_path / "kafka", size=1)
    await asyncio.to_thread(cluster.start)
    try:
        prefix = "outage."
        report = await provision(
            cluster.bootstrap, topics.registry(gateway_desks, prefix=prefix), timeout_s=60
        )
        assert report.ok
        settings = make_settings(
            kafka_bootstrap=cluster.bootstrap, topic_prefix=prefix, publish_deadline_s=3.0
        )
        client = await make_client(settings)

        async def submit() -> aiohttp.ClientResponse:
            return await client.post(
                "/v1/messages",
                json=new_submission(),
                headers=auth("usa.eucom"),
                timeout=CALL_TIMEOUT,
            )

        assert (await submit()).status == 202
        assert (await client.get("/readyz", timeout=CALL_TIMEOUT)).status == 200

        await asyncio.to_thread(cluster.stop)
        down = await submit()
        assert down.status == 503
        assert down.headers["Retry-After"] == str(settings.retry_after_s)
        assert (await client.get("/readyz", timeout=CALL_TIMEOUT)).status == 503

        await asyncio.to_thread(cluster.start)
        # Same gateway, no restart: within a bounded number of tries it takes writes again.
        statuses = []
        for _ in range(30):
            response = await submit()
            statuses.append(response.status)
            if response.status == 202:
                break
            assert response.status == 503
            await asyncio.sleep(1)
        assert statuses[-1] == 202, statuses
        assert (await client.get("/readyz", timeout=CALL_TIMEOUT)).status == 200
        metrics = await (await client.get("/metrics")).text()
        assert "cell_gateway_publish_failures_total" in metrics
    finally:
        await asyncio.to_thread(cluster.stop)
