"""Test harness: a real Apache Kafka broker for the whole session, unique names per test.

`kafka_bootstrap` starts one KRaft node from the Maven-resolved jars (or uses `KAFKA_BOOTSTRAP`
when set) and yields its address. Its state lives in `.state/test-kafka`, wiped at every start,
so a run killed half-way leaves nothing the next run trips on (the launcher also reaps a JVM
that outlived its pytest through the pid file there).
"""

from __future__ import annotations

import gc
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.kafka.launcher import KafkaCluster

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".state"
ADMIN_TIMEOUT_S = 30.0


def _announce(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


@pytest.fixture(scope="session")
def kafka_bootstrap(pytestconfig: pytest.Config) -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        _announce(pytestconfig, f"using the Kafka broker at KAFKA_BOOTSTRAP={external}")
        yield external
        return
    cluster = KafkaCluster.create(STATE / "test-kafka", fresh=True)
    cluster.start()
    node = cluster.nodes[0]
    _announce(
        pytestconfig,
        f"started real Apache Kafka {node.version()} (KRaft, pid {node.pid}) "
        f"at {cluster.bootstrap}",
    )
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()


@pytest.fixture(scope="module", autouse=True)
def _collect_garbage_per_module() -> Iterator[None]:
    """Collect at each module's end, so an unclosed socket is reported by its own module.

    Warnings are errors here, and an unclosed transport is only seen when the collector
    finds it: without this it would fail whichever later test happened to trigger a run.
    """
    yield
    gc.collect()


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names no other test (or earlier run against the same broker) uses."""
    base = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:40].strip("-")
    suffix = uuid.uuid4().hex[:8]

    def make(kind: str) -> str:
        return f"t.{base}.{kind}.{suffix}"

    return make


CreateTopics = Callable[..., Awaitable[list[str]]]


@pytest.fixture
async def create_topics(kafka_bootstrap: str) -> AsyncIterator[CreateTopics]:
    """Create topics explicitly (auto-create is off, as in production) and wait for them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=30_000)
    await admin.start()

    async def create(
        *names: str,
        partitions: int = 1,
        replication: int = 1,
        configs: dict[str, str] | None = None,
    ) -> list[str]:
        await admin.create_topics(
            [NewTopic(n, partitions, replication, topic_configs=configs or {}) for n in names],
            timeout_ms=int(ADMIN_TIMEOUT_S * 1000),
        )
        return list(names)

    try:
        yield create
    finally:
        await admin.close()
