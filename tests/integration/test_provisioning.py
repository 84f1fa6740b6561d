"""Provisioning against the real broker: create all, then nothing, then report drift."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.desks import Desk, DeskRegistry
from schemas.labels import Clearance
from schemas.roles import Role
from schemas.topics import CleanupPolicy, registry
from services.runtime.provision import Drift, provision

pytestmark = pytest.mark.integration

DESKS = DeskRegistry(
    desks=(
        Desk(
            id="ukr.mod",
            nation="UKR",
            clearance=Clearance.SECRET,
            roles=frozenset({Role.REQUESTER}),
        ),
        Desk(id="usa.eucom", nation="USA", clearance=Clearance.TOP_SECRET),
        Desk(
            id="fra.cell", nation="FRA", clearance=Clearance.SECRET, roles=frozenset({Role.DONOR})
        ),
    )
)


def _prefix() -> str:
    return f"t.prov.{uuid.uuid4().hex[:8]}."


async def test_first_run_creates_every_topic_and_second_changes_nothing(kafka_bootstrap):
    specs = registry(DESKS, prefix=_prefix())

    first = await provision(kafka_bootstrap, specs)
    assert set(first.created) == {spec.name for spec in specs}
    assert first.unchanged == ()
    assert first.ok

    second = await provision(kafka_bootstrap, specs)
    assert second.created == ()
    assert set(second.unchanged) == {spec.name for spec in specs}
    assert second.drift == ()

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics([s.name for s in specs])}
    finally:
        await admin.close()
    for spec in specs:
        assert len(described[spec.name]["partitions"]) == spec.partitions


async def test_a_topic_with_a_wrong_setting_is_reported_not_altered(kafka_bootstrap):
    specs = registry(DESKS, prefix=_prefix())
    state = next(s for s in specs if s.cleanup_policy is CleanupPolicy.COMPACT)
    submit = next(s for s in specs if s.partitions > 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    state.name, state.partitions, 1, topic_configs={"cleanup.policy": "delete"}
                ),
                NewTopic(submit.name, 1, 1, topic_configs=submit.configs()),
            ],
            timeout_ms=30_000,
        )
    finally:
        await admin.close()

    report = await provision(kafka_bootstrap, specs)

    assert not report.ok
    assert set(report.drifted) == {state.name, submit.name}
    assert (
        Drift(topic=state.name, setting="cleanup.policy", expected="compact", actual="delete")
        in report.drift
    )
    assert (
        Drift(topic=submit.name, setting="partitions", expected=str(submit.partitions), actual="1")
        in report.drift
    )
    assert set(report.created) == {s.name for s in specs} - {state.name, submit.name}

    again = await provision(kafka_bootstrap, specs)  # reported, never "fixed" behind our back
    assert again.drift == report.drift
    assert again.created == ()


async def test_explicit_replication_factor_and_retention_are_checked(kafka_bootstrap):
    specs = registry(DESKS, prefix=_prefix())[:1]
    await provision(kafka_bootstrap, specs)
    changed = [msgspec.structs.replace(specs[0], retention_ms=1234, replication_factor=1)]

    report = await provision(kafka_bootstrap, changed)

    assert [(d.setting, d.expected) for d in report.drift] == [("retention.ms", "1234")]
