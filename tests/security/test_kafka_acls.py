"""Kafka-level isolation (issue #9 item 13): with SASL/SCRAM and ACLs on the broker, a nation's
downstream principal reads its own desk topics and nothing else.

The launcher's security mode (``KafkaCluster.create(..., security=True, users=...)``) starts
a broker whose only listener is SASL_PLAINTEXT with SCRAM-SHA-512, with StandardAuthorizer and
``User:admin`` as the only super user. ACLs are created with the Kafka protocol's CreateAcls
request through aiokafka's admin client (aiokafka has the request but no public method; the
broker jars carry no ACL command-line tool): per nation, READ and DESCRIBE on the prefixed
topic resource ``<prefix>cell.inbox.<nation>.``, exactly what ARCHITECTURE.md prescribes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import CreateAclsRequest
from fault_checker import record_figures
from secure_cell import security_registry

from deploy.kafka.launcher import KafkaCluster
from schemas import topics
from schemas.precedence import Precedence

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Kafka protocol enums (org.apache.kafka.common.acl / resource)
TOPIC, PREFIXED, READ, DESCRIBE, ALLOW = 2, 4, 3, 8, 3
NATIONS = ("USA", "UKR", "FRA")
PREFIX = "acl."
CELL_TOPICS = (
    f"{PREFIX}cell.submit.routine",
    f"{PREFIX}cell.audit",
    f"{PREFIX}cell.domain.support",
)


def _user(nation: str) -> str:
    return f"{nation.lower()}-downstream"


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KafkaCluster, dict[str, str]]]:
    passwords = {_user(n): secrets.token_urlsafe(12) for n in NATIONS}
    cluster = KafkaCluster.create(
        tmp_path_factory.mktemp("acl") / "k", security=True, users=passwords
    )
    cluster.start()
    try:
        yield cluster, passwords
    finally:
        cluster.stop()


def _sasl(user: str, password: str) -> dict[str, Any]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


async def _grant(admin: AIOKafkaAdminClient, nation: str) -> None:
    resource = topics.inbox_nation_prefix(nation, prefix=PREFIX)
    for operation in (READ, DESCRIBE):
        request = CreateAclsRequest(
            resource_type=TOPIC,
            resource_name=resource,
            resource_pattern_type_filter=PREFIXED,
            principal=f"User:{_user(nation)}",
            host="*",
            operation=operation,
            permission_type=ALLOW,
        )
        response = await asyncio.wait_for(admin._send_request(request), 30)
        for result in response.creation_responses:
            assert result[0] == 0, result  # error code


def _desk_of(inbox: dict[str, str], topic: str) -> bytes:
    return next(d for d, t in inbox.items() if t == topic).encode()


async def _visible(bootstrap: str, auth: dict[str, Any]) -> set[str] | str:
    """Topics the principal's metadata request returns (``refused`` if it cannot log in)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5_000, **auth)
    try:
        await asyncio.wait_for(consumer.start(), 15)
        cluster = await asyncio.wait_for(consumer._client.fetch_all_metadata(), 15)
        return set(cluster.topics())
    except (KafkaError, TimeoutError):
        return "refused"
    finally:
        await asyncio.wait_for(consumer.stop(), 15)


async def _read(bootstrap: str, auth: dict[str, Any], topic: str) -> list[bytes] | str:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        request_timeout_ms=5_000,
        **auth,
    )
    try:
        await asyncio.wait_for(consumer.start(), 15)
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await asyncio.wait_for(consumer.seek_to_beginning(tp), 5)
        batch = await asyncio.wait_for(consumer.getmany(timeout_ms=3_000), 10)
        return [r.value for part in batch.values() for r in part]
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await asyncio.wait_for(consumer.stop(), 20)


async def _write(bootstrap: str, auth: dict[str, Any], topic: str) -> str:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5_000, **auth
    )
    try:
        await asyncio.wait_for(producer.start(), 15)
        await asyncio.wait_for(producer.send_and_wait(topic, b"forged"), 10)
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await asyncio.wait_for(producer.stop(), 20)
    return "written"


async def test_a_nation_reads_its_own_desk_topics_and_nothing_else(
    secured: tuple[KafkaCluster, dict[str, str]],
) -> None:
    cluster, passwords = secured
    assert cluster.admin_password is not None
    admin_auth = _sasl("admin", cluster.admin_password)
    registry = security_registry()
    specs = topics.registry(registry, prefix=PREFIX)
    # Provisioning itself runs as the admin principal.
    admin = AIOKafkaAdminClient(
        bootstrap_servers=cluster.bootstrap, request_timeout_ms=30_000, **admin_auth
    )
    await asyncio.wait_for(admin.start(), 30)
    try:
        await _create(admin, specs)
        for nation in NATIONS:
            await _grant(admin, nation)
    finally:
        await admin.close()
    inbox = {
        desk.id: topics.inbox_topic(desk, Precedence.ROUTINE, prefix=PREFIX)
        for desk in registry.desks
    }
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all", **admin_auth)
    await asyncio.wait_for(producer.start(), 30)
    try:
        for desk_id, topic in inbox.items():
            await asyncio.wait_for(producer.send_and_wait(topic, desk_id.encode()), 30)
        for topic in CELL_TOPICS:
            await asyncio.wait_for(producer.send_and_wait(topic, b"cell-internal"), 30)
    finally:
        await asyncio.wait_for(producer.stop(), 30)

    nation_of = {d.id: d.nation for d in registry.desks}
    leaks: list[str] = []
    refused: dict[str, Any] = {}
    for nation in NATIONS:
        auth = _sasl(_user(nation), passwords[_user(nation)])
        own = {t for d, t in inbox.items() if nation_of[d] == nation}
        lanes = {t for t in (s.name for s in specs) if t.startswith(f"{PREFIX}cell.inbox.")}
        granted = {
            t for t in lanes if t.startswith(topics.inbox_nation_prefix(nation, prefix=PREFIX))
        }
        # Metadata: the principal sees its nation's inbox topics and no other topic at all.
        visible = await _visible(cluster.bootstrap, auth)
        leaks += sorted(visible - granted)
        assert granted <= visible, (nation, granted - visible)
        for topic in sorted(own):
            assert await _read(cluster.bootstrap, auth, topic) == [_desk_of(inbox, topic)]
        # Fetches and writes outside the grant are refused by the broker, not just hidden.
        foreign = next(t for d, t in inbox.items() if nation_of[d] != nation)
        for topic in (foreign, CELL_TOPICS[0]):
            got = await _read(cluster.bootstrap, auth, topic)
            refused[f"{nation} reads {topic.removeprefix(PREFIX)}"] = got
            if isinstance(got, list) and got:
                leaks.append(topic)
        refused[f"{nation} writes {min(own).removeprefix(PREFIX)}"] = await _write(
            cluster.bootstrap, auth, min(own)
        )
    wrong = _sasl(_user("USA"), "not-the-password")
    refused["USA with a wrong password"] = await _visible(cluster.bootstrap, wrong)
    assert all(v != "written" for k, v in refused.items() if " writes " in k), refused
    assert refused["USA with a wrong password"] == "refused", refused
    record_figures(
        "13-kafka-acls",
        order=13,
        title="Kafka SASL/SCRAM + prefixed ACLs per nation",
        load=f"{len(NATIONS)} nation principals, {len(specs)} topics ({len(inbox)} desks)",
        faults="reads of other nations' inboxes and cell topics, writes, a wrong password",
        unexpected=len(leaks),
        notes="; ".join(f"{k}: {v}" for k, v in refused.items()),
    )
    assert not leaks, leaks


async def _create(admin: AIOKafkaAdminClient, specs: Any) -> None:
    """Registry topics as the admin (``provision()`` takes no SASL settings yet)."""
    await asyncio.wait_for(
        admin.create_topics([NewTopic(s.name, s.partitions, 1) for s in specs]), 60
    )
