"""Fault-test fixtures: one 3-node KRaft cluster for the whole fault suite, a cell per test.

- ``fault_cluster`` (session): three real brokers (RF 3, min ISR 2, unclean election off)
  from the launcher in a temporary directory, stopped in ``finally``.
- ``cluster`` (module): the same cluster, healed first (every node running, none paused), so
  a module that failed half-way through a fault does not poison the next one.
- ``fault_cell``: a unique topic prefix with every registry topic provisioned at RF 3, and
  the subprocesses the test starts through it, stopped at teardown.

At the end of the session RELIABILITY.md is rendered from the figures the tests wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import reliability_report
from fault_cell import FaultCell

from deploy.kafka.launcher import READY_TIMEOUT_S, KafkaCluster


@pytest.fixture(scope="session")
def fault_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster.create(tmp_path_factory.mktemp("faults") / "c3", size=3)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def heal(cluster: KafkaCluster) -> None:
    """Every node running and not paused (main thread: the launcher's PDEATHSIG needs it)."""
    for node in cluster.nodes:
        if node.running() and node.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.process.pid, signal.SIGCONT)
        else:
            node.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    for node in cluster.nodes:
        node.wait_ready(deadline)


@pytest.fixture(scope="module")
def cluster(fault_cluster: KafkaCluster) -> KafkaCluster:
    heal(fault_cluster)
    return fault_cluster


@pytest.fixture
async def fault_cell(cluster: KafkaCluster, tmp_path: Path) -> AsyncIterator[FaultCell]:
    cell = FaultCell(cluster.bootstrap, tmp_path / "cell")
    await cell.provision()
    try:
        yield cell
    finally:
        await cell.stop_all()


def pytest_sessionfinish(session: pytest.Session) -> None:
    del session
    reliability_report.render()
