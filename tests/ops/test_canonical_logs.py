"""Canonical log lines and worker metrics, from the router and a domain service on Kafka.

Submissions go through the router (``message_routed``) to the tasking service
(``message_handled``); poison records are dead-lettered by both. The JSON lines are
captured from the production logging configuration, and the metrics from the HTTP endpoint.
"""

from __future__ import annotations

import asyncio
import io
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaProducer
from msgspec import structs
from test_tasking_orders import REGISTRY, order, status  # type: ignore[import-not-found]  # via conftest

from deploy.kafka.launcher import free_port
from schemas import codec, topics
from schemas.envelope import Envelope
from schemas.kinds.tasking import TaskState
from services.router.settings import RouterSettings
from services.router.worker import run as run_router
from services.runtime.canonical import EVENT_HANDLED, FIELDS
from services.runtime.logging import configure_logging
from services.runtime.provision import provision
from services.tasking.settings import TaskingSettings
from services.tasking.worker import run as run_tasking

pytestmark = pytest.mark.integration
DEADLINE_S = 60.0
_decoder = msgspec.json.Decoder(dict[str, Any])


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every line the production JSON configuration writes while the test runs."""
    stream = io.StringIO()
    configure_logging("ops-test", fmt="json", level="INFO", stream=stream)
    try:
        yield stream
    finally:
        configure_logging("ops-test", fmt="json", level="INFO")


def fresh(envelope: Envelope) -> Envelope:
    now = datetime.now(UTC)
    ack_by = None if envelope.ack_by is None else now + timedelta(hours=1)
    fresh_envelope: Envelope = structs.replace(
        envelope, message_id=uuid.uuid4(), created_at=now, released_at=now, ack_by=ack_by
    )
    return fresh_envelope


async def submit(bootstrap: str, prefix: str, items: list[Envelope | tuple[str, bytes]]) -> None:
    """Envelopes on their submit lane, keyed by originator; ``(topic, bytes)`` written raw."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await asyncio.wait_for(producer.start(), DEADLINE_S)
    try:
        for item in items:
            if isinstance(item, tuple):
                topic, raw = item
                await asyncio.wait_for(producer.send_and_wait(topic, raw, key=b"x"), DEADLINE_S)
                continue
            lane = topics.submit_topic(item.primary_precedence, prefix=prefix)
            await asyncio.wait_for(
                producer.send_and_wait(
                    lane,
                    codec.encode(item),
                    key=item.originator.encode(),
                    headers=codec.headers(item),
                ),
                DEADLINE_S,
            )
    finally:
        await asyncio.wait_for(producer.stop(), DEADLINE_S)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body: bytes = response.read()
    return body.decode()


async def test_one_canonical_line_per_handled_message_and_metrics(
    kafka_bootstrap: str, json_log: io.StringIO
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    report = await provision(kafka_bootstrap, topics.registry(REGISTRY, prefix=prefix))
    assert report.ok
    port = free_port()
    router = RouterSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    tasking = TaskingSettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=prefix,
        tick_interval_s=3600,
        metrics_port=port,
    )
    sent = [
        fresh(order()),
        fresh(status("GBR", TaskState.ACKNOWLEDGED)),
        fresh(status("FRA", TaskState.ACKNOWLEDGED)),
        fresh(status("POL", TaskState.ACKNOWLEDGED, desk="gbr.pjhq")),  # refused: not tasked
    ]
    ids = {str(e.message_id) for e in sent}
    domain = topics.domain_topic("tasking", prefix=prefix)
    stop = asyncio.Event()
    workers = [
        asyncio.create_task(run_router(router, stop, registry=REGISTRY)),
        asyncio.create_task(run_tasking(tasking, stop, registry=REGISTRY)),
    ]
    try:
        await submit(kafka_bootstrap, prefix, [sent[0]])  # the order before its statuses
        lane = topics.submit_topic(order().primary_precedence, prefix=prefix)
        poison = [(lane, b"\x00poison"), (domain, b"\x00poison")]
        await submit(kafka_bootstrap, prefix, [*sent[1:], *poison])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        handled: set[str] = set()
        while handled != ids | {"poison"}:
            assert loop.time() < deadline, f"handled {handled} of {ids}"
            await asyncio.sleep(0.2)
            handled = {
                entry["message_id"] or "poison"
                for entry in _entries(json_log)
                if entry.get("event") == EVENT_HANDLED
                and (entry["message_id"] in ids or entry["outcome"] == "dead_lettered")
            }
        lag = f'cell_consumer_lag{{partition="0",service="tasking",topic="{domain}"}} 0.0'
        exposed = await asyncio.to_thread(scrape, port)
        while lag not in exposed:  # lag is refreshed once a second, after a fetch answered
            assert loop.time() < deadline, exposed
            await asyncio.sleep(0.5)
            exposed = await asyncio.to_thread(scrape, port)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), DEADLINE_S)

    check_lines(_entries(json_log), sent, domain)
    check_metrics(exposed)


def check_lines(entries: list[dict[str, Any]], sent: list[Envelope], domain: str) -> None:
    """One canonical line per message and service, with every documented field."""
    ids = {str(e.message_id) for e in sent}
    canonical = [e for e in entries if e["event"] in {"message_routed", EVENT_HANDLED}]
    for entry in canonical:
        assert set(FIELDS) <= set(entry), entry
    routed = [e for e in canonical if e["event"] == "message_routed" and e["message_id"] in ids]
    served = [e for e in canonical if e["event"] == EVENT_HANDLED and e["message_id"] in ids]
    assert sorted(e["message_id"] for e in routed) == sorted(ids)  # exactly one line each
    assert sorted(e["message_id"] for e in served) == sorted(ids)
    for entry in [*routed, *served]:
        wanted = next(e for e in sent if str(e.message_id) == entry["message_id"])
        assert entry["desk"] == wanted.originator
        assert entry["precedence"] == wanted.primary_precedence.value
        assert entry["kind"]
        assert entry["duration_ms"] >= 0
        assert isinstance(entry["offset"], int)
    assert all(e["service"] == "router" for e in routed)
    assert all(e["service"] == "tasking" for e in served)
    assert all(e["topic"] == domain for e in served)
    by_id = {e["message_id"]: e["outcome"] for e in served}
    assert by_id[str(sent[3].message_id)] == "refused"
    assert by_id[str(sent[0].message_id)] == "handled"
    poison = [e for e in canonical if e["outcome"] == "dead_lettered"]
    assert sorted(e["service"] for e in poison) == ["router", "tasking"]  # one line each
    assert all(e["message_id"] is None for e in poison)


def check_metrics(exposed: str) -> None:
    # The metrics endpoint of the process shows the families, with this run's samples.
    for family in (
        "cell_messages_handled_total",
        "cell_messages_dead_lettered_total",
        "cell_handling_seconds_bucket",
        "cell_end_to_end_seconds_bucket",
        "cell_consumer_lag",
    ):
        assert family in exposed, family
    assert 'cell_messages_handled_total{outcome="refused",service="tasking"}' in exposed
    assert 'cell_messages_dead_lettered_total{service="router"}' in exposed
    assert 'cell_messages_dead_lettered_total{service="tasking"}' in exposed


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [_decoder.decode(line) for line in stream.getvalue().splitlines() if line[:1] == "{"]
