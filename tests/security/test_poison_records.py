"""Poison records into every topic a service consumes: all dead-lettered with a reason, and
every service keeps consuming.

Router (the four submit lanes) and the four domain services run as real subprocesses. Into
each of their input topics go: random bytes, truncated JSON, a valid envelope of a kind that
does not belong there, valid JSON with invalid values, and an oversized record. Then a last
poison record, a sentinel, on each topic: it can only be dead-lettered if the consumer went
past every earlier one. The router also routes a valid message sent after the poison.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaProducer
from fault_cell import token_of
from fault_checker import Inboxes, Ledger, record_figures
from fault_load import liaison
from secure_cell import SecureCell, security_registry, start_cell

from schemas import topics
from schemas.desks import Desk, DeskRegistry
from services.runtime.deadletter import HEADER_REASON, HEADER_SERVICE, HEADER_SOURCE_TOPIC

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ("monitoring", "commission", "support", "tasking")
OVERSIZED = 600 * 1024  # under the broker's 1 MiB record limit, far over any message of ours


def _registry() -> DeskRegistry:
    base = security_registry()
    services = tuple(
        msgspec.convert(
            {
                "id": f"svc.{name}",
                "nation": "FRA",
                "clearance": "TOP_SECRET",
                "roles": ["SERVICE"],
                "token_sha256": [hashlib.sha256(token_of(f"svc.{name}").encode()).hexdigest()],
            },
            Desk,
        )
        for name in SERVICES
    )
    return DeskRegistry(desks=base.desks + services, description=base.description)


@pytest.fixture(scope="module")
def poisoned(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecureCell]:
    secure = start_cell(kafka_bootstrap, tmp_path_factory.mktemp("poison"), registry=_registry())
    try:
        for name in SERVICES:
            secure.cell.spawn(f"services.{name}", CELL_LOG_LEVEL="WARNING")
        yield secure
    finally:
        asyncio.run(secure.cell.stop_all())


def _valid_envelope(kind_body: dict[str, Any]) -> dict[str, Any]:
    item = liaison("fra.cell")
    item.update(
        originator="usa.eucom",
        copy_precedence="ROUTINE",
        created_at=item["label"]["created_at"],
        released_at=item["label"]["created_at"],
        body=kind_body,
    )
    return item


def poisons(topic: str) -> dict[str, bytes]:
    valid = _valid_envelope({"kind": "liaison.message.v1", "topic": "COORDINATION", "text": "x"})
    text = json.dumps(valid).encode()
    invalid = dict(valid, primary_precedence="URGENTISSIMO", message_id="not-a-uuid")
    oversized = dict(valid, body={"kind": "liaison.message.v1", "text": "o" * OVERSIZED})
    return {
        "random_bytes": os.urandom(200),
        "truncated_json": text[: len(text) // 2],
        # On a domain topic a liaison message is the wrong kind; on a submit lane the
        # wrong kind is an envelope whose originator is no desk at all.
        "wrong_kind": text
        if ".domain." in topic
        else json.dumps(
            dict(valid, originator="no.such.desk", body={"kind": "no.such.kind.v9"})
        ).encode(),
        "invalid_values": json.dumps(invalid).encode(),
        "oversized": json.dumps(oversized).encode(),
        "sentinel": b"\x00sentinel " + uuid.uuid4().bytes,
    }


async def test_poison_is_dead_lettered_and_every_service_keeps_consuming(
    poisoned: SecureCell,
) -> None:
    cell = poisoned.cell
    targets = cell.submit_topics() + [topics.domain_topic(f, prefix=cell.prefix) for f in SERVICES]
    sent: dict[tuple[str, bytes], str] = {}
    producer = AIOKafkaProducer(
        bootstrap_servers=cell.bootstrap, acks="all", max_request_size=2 << 20
    )
    await asyncio.wait_for(producer.start(), 30)
    try:
        for topic in targets:
            for name, value in poisons(topic).items():
                await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"poison"), 30)
                sent[(topic, hashlib.sha256(value).digest())] = name
    finally:
        await asyncio.wait_for(producer.stop(), 30)

    # A valid message after the poison still reaches its recipient through the router.
    ledger = Ledger()
    item = liaison("fra.cell")
    ledger.attempt(item["message_id"], ["fra.cell"])
    import aiohttp  # noqa: PLC0415 - only this check posts

    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
        http.post(
            poisoned.url + "/v1/messages", json=item, headers=cell.auth("usa.eucom")
        ) as response,
    ):
        assert response.status == 202, await response.text()
        ledger.ack(item["message_id"])

    letters = await _dead_letters(cell.bootstrap, cell.prefix, sent)
    async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
        routed = await inboxes.wait_until(lambda ib: ib.has_all(ledger), 60)
    missing = sorted({f"{t.split('.', 1)[1]}:{n}" for (t, _), n in sent.items()} - set(letters))
    reasons = {key: letters[key] for key in sorted(letters)}
    record_figures(
        "12-poison-records",
        order=8,
        title="Poison records into every consumed topic",
        load=f"{len(sent)} poison records over {len(targets)} topics (router + 4 services)",
        faults="random bytes, truncated JSON, wrong kind, invalid values, oversized, sentinel",
        acknowledged=1,
        delivered=1 if routed else 0,
        lost=len(missing),
        unexpected=0,
        server_errors=0,
        notes=f"dead-lettered {len(letters)}/{len(sent)}; reasons: "
        + ", ".join(sorted({r for r, _ in letters.values()})),
    )
    assert not missing, (missing, [p.log_tail(500) for p in cell.procs if not p.alive()])
    assert all(reason for reason, _ in reasons.values())
    assert routed, "the router stopped routing after the poison"
    assert all(p.alive() for p in cell.procs), [p.name for p in cell.procs if not p.alive()]


async def _dead_letters(
    bootstrap: str, prefix: str, sent: dict[tuple[str, bytes], str], timeout_s: float = 120
) -> dict[str, tuple[str, str]]:
    """``topic:poison`` -> (reason, service) for every dead letter of a record we sent."""
    from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: PLC0415

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        fetch_max_bytes=8 << 20,
        max_partition_fetch_bytes=4 << 20,
    )
    await asyncio.wait_for(consumer.start(), 30)
    found: dict[str, tuple[str, str]] = {}
    try:
        topic = f"{prefix}{topics.DEADLETTER}"
        parts = consumer.partitions_for_topic(topic) or {0}
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(found) < len(sent) and loop.time() < deadline:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 60)
            for record in (r for part in batch.values() for r in part):
                headers = {k: v.decode() for k, v in record.headers or ()}
                source = headers.get(HEADER_SOURCE_TOPIC, "")
                name = sent.get((source, hashlib.sha256(record.value or b"").digest()))
                if name is not None:
                    found[f"{source.split('.', 1)[1]}:{name}"] = (
                        headers.get(HEADER_REASON, ""),
                        headers.get(HEADER_SERVICE, ""),
                    )
    finally:
        await asyncio.wait_for(consumer.stop(), 30)
    return found
