"""Admission control against the real broker: past the in-flight limit a submission is
refused at once (503 ``overloaded``, Retry-After), FLASH keeps its reserved share while
ROUTINE is shed, and every submission that was admitted is on Kafka.

To hold submissions in flight without relying on timing, the Publisher's ``publish_many``
is gated: admitted requests wait at the gate, then publish to the real broker when it opens.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from test_submit import read_record  # type: ignore[import-not-found]  # via conftest path

from schemas import codec
from services.gateway import keys
from services.gateway.problems import PROBLEM_JSON
from services.gateway.submit import ADMISSION
from services.runtime.logging import configure_logging

pytestmark = pytest.mark.integration
DEADLINE_S = 30.0


class Gate:
    """Admitted submissions wait at the gate before publishing (for real) when it opens."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.admission = client.server.app[ADMISSION]
        self.open = asyncio.Event()
        self.arrived = 0
        self._arrival = asyncio.Condition()
        publisher = client.server.app[keys.PUBLISHER]
        publish_many = publisher.publish_many

        async def gated(*args: Any, **kwargs: Any) -> Any:
            async with self._arrival:
                self.arrived += 1
                self._arrival.notify_all()
            await asyncio.wait_for(self.open.wait(), DEADLINE_S)
            return await publish_many(*args, **kwargs)

        publisher.publish_many = gated  # type: ignore[method-assign]

    async def held(self, requests: int, in_flight: int) -> None:
        """Wait until ``requests`` requests wait at the gate, then check the slots held."""
        async with self._arrival:
            await asyncio.wait_for(
                self._arrival.wait_for(lambda: self.arrived >= requests), DEADLINE_S
            )
        assert self.admission.in_flight == in_flight


async def assert_shed(response: Any) -> None:
    assert response.status == 503, await response.text()
    assert response.content_type == PROBLEM_JSON
    assert response.headers["Retry-After"] == "1"
    problem = await response.json()
    assert problem["code"] == "overloaded"
    assert problem["retry_after_s"] == 1


async def check_afterwards(
    client: TestClient[Any, Any], log: io.StringIO, fra: dict[str, str], body: dict[str, Any]
) -> None:
    """Slots all released, sheds counted per precedence, one request line per refusal."""
    assert client.server.app[ADMISSION].in_flight == 0
    async with client.post("/v1/messages", json=body, headers=fra) as response:
        assert response.status == 202, await response.text()

    metrics = await (await client.get("/metrics")).text()
    assert 'cell_gateway_shed_total{precedence="ROUTINE"} 4.0' in metrics
    assert 'cell_gateway_shed_total{precedence="IMMEDIATE"} 1.0' in metrics
    assert 'cell_gateway_shed_total{precedence="FLASH"} 1.0' in metrics
    assert "cell_gateway_in_flight 0.0" in metrics

    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    shed_lines = [line for line in lines if line.get("code") == "overloaded"]
    assert len(shed_lines) == 5  # one canonical line per refused request
    assert all(
        line["event"] == "http_request" and line["status"] == 503 and line["message_id"] is None
        for line in shed_lines
    )


async def test_routine_is_shed_at_the_limit_flash_is_not_and_nothing_admitted_is_lost(
    make_client, make_settings, auth, new_submission, gateway_settings
):
    # Ceilings: ROUTINE and PRIORITY 4, IMMEDIATE 5, FLASH 6.
    client = await make_client(make_settings(max_batch=2, max_in_flight=6, reserved_in_flight=2))
    log = io.StringIO()
    configure_logging("gateway", fmt="json", stream=log)
    gate = Gate(client)
    fra, usa = auth("fra.cell"), auth("usa.eucom")

    def post(body: dict[str, Any], headers: dict[str, str]) -> Any:
        return client.post("/v1/messages", json=body, headers=headers)

    async def send(body: dict[str, Any], headers: dict[str, str]) -> Any:
        return await post(body, headers)

    try:
        held = [asyncio.create_task(send(new_submission(), fra)) for _ in range(4)]
        await gate.held(requests=4, in_flight=4)
        for _ in range(2):
            async with post(new_submission(), fra) as response:
                await assert_shed(response)
        # FLASH claimed by a desk without the FLASH role takes no reserved slot.
        async with post(new_submission(precedence="FLASH"), fra) as response:
            await assert_shed(response)

        held.append(asyncio.create_task(send(new_submission(precedence="IMMEDIATE"), fra)))
        await gate.held(requests=5, in_flight=5)
        async with post(new_submission(precedence="IMMEDIATE"), fra) as response:
            await assert_shed(response)

        batch = {
            "submissions": [new_submission(), new_submission(precedence="FLASH")],
        }
        batch_task = asyncio.ensure_future(
            client.post("/v1/messages:batch", json=batch, headers=usa)
        )
        await gate.held(requests=6, in_flight=6)
        async with post(new_submission(precedence="FLASH"), usa) as response:
            await assert_shed(response)
    finally:
        gate.open.set()
        configure_logging("gateway", fmt="json")

    responses = await asyncio.wait_for(asyncio.gather(*held), DEADLINE_S)
    accepted = []
    for response in responses:
        assert response.status == 202, await response.text()
        accepted.append(await response.json())
        response.release()
    batch_response = await asyncio.wait_for(batch_task, DEADLINE_S)
    assert batch_response.status == 207, await batch_response.text()
    results = (await batch_response.json())["results"]
    batch_response.release()
    assert [r["status"] for r in results] == [503, 202]  # FLASH admitted, ROUTINE shed
    assert results[0]["problem"]["code"] == "overloaded"
    accepted.append(results[1]["accepted"])
    assert [a["precedence"] for a in accepted] == [*["ROUTINE"] * 4, "IMMEDIATE", "FLASH"]

    for item in accepted:  # every admitted submission is durable on its lane
        record = await read_record(
            gateway_settings.kafka_bootstrap, item["topic"], item["partition"], item["offset"]
        )
        assert str(codec.decode(record.value).message_id) == item["message_id"]

    await check_afterwards(client, log, fra, new_submission())


async def test_a_full_batch_of_routine_is_shed_whole(
    make_client, make_settings, auth, new_submission
):
    client = await make_client(make_settings(max_batch=2, max_in_flight=4, reserved_in_flight=2))
    gate = Gate(client)
    try:
        held = [
            asyncio.ensure_future(
                client.post("/v1/messages", json=new_submission(), headers=auth("fra.cell"))
            )
            for _ in range(2)
        ]
        await gate.held(requests=2, in_flight=2)
        batch = {"submissions": [new_submission(), new_submission()]}
        async with client.post(
            "/v1/messages:batch", json=batch, headers=auth("fra.cell")
        ) as response:
            await assert_shed(response)
    finally:
        gate.open.set()
    for response in await asyncio.wait_for(asyncio.gather(*held), DEADLINE_S):
        assert response.status == 202
        response.release()
