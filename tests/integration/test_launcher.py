"""The launcher: data survives a restart; interrupted runs leave nothing that breaks the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.kafka.launcher import KafkaCluster, _pid_alive
from services.runtime import kafka
from services.runtime.settings import CommonSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = kafka.producer(CommonSettings(kafka_bootstrap=bootstrap), client_id="p")
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = kafka.consumer(
        CommonSettings(kafka_bootstrap=bootstrap), topic, group_id=None, client_id="c"
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        for _ in range(60):
            for part in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(r.value for r in part)
            if len(out) >= count:
                break
    finally:
        await consumer.stop()
    return out


async def test_data_survives_a_broker_restart_on_the_same_state_dir(tmp_path):
    state = tmp_path / "kafka"
    cluster = KafkaCluster.create(state).start()
    try:
        await _produce(cluster.bootstrap, "durable", [b"one", b"two", b"three"])
    finally:
        cluster.stop()
    assert not cluster.nodes[0].running()

    again = KafkaCluster.create(state)  # same directory: same ports, cluster id, data
    assert again.bootstrap == cluster.bootstrap
    assert again.cluster_id == cluster.cluster_id
    again.start()
    try:
        assert await _consume(again.bootstrap, "durable", 3) == [b"one", b"two", b"three"]
    finally:
        again.stop()


_CHILD = """
import sys, time
from pathlib import Path
from deploy.kafka.launcher import KafkaCluster
c = KafkaCluster.create(Path(sys.argv[1]), die_with_parent=sys.argv[2] == "1").start()
print(c.nodes[0].pid, flush=True)
time.sleep(600)
"""


def _start_child_broker(state: Path, *, die_with_parent: bool) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CHILD, str(state), "1" if die_with_parent else "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # blocks until the broker is ready (or the child failed)
    assert line.strip().isdigit(), f"child broker did not start: {line!r}"
    return child, int(line)


def _wait_dead(pid: int, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid) or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return True
        time.sleep(0.1)
    return False


def test_broker_dies_with_a_killed_test_run(tmp_path):
    child, jvm = _start_child_broker(tmp_path / "k", die_with_parent=True)
    with child:
        child.send_signal(signal.SIGKILL)  # the "test run" is killed half-way
    assert _wait_dead(jvm), "the broker JVM outlived the process that started it"


def test_next_start_reaps_a_stale_broker_and_its_pid_file(tmp_path):
    state = tmp_path / "k"
    child, jvm = _start_child_broker(state, die_with_parent=False)
    with child:
        child.send_signal(signal.SIGKILL)
    assert _pid_alive(jvm), "precondition: an orphan JVM holding the state directory"

    cluster = KafkaCluster.create(state, fresh=True).start()
    try:
        assert _wait_dead(jvm)
        assert cluster.nodes[0].running()
        assert int(cluster.nodes[0].pid_file.read_text()) == cluster.nodes[0].pid
    finally:
        cluster.stop()
    assert not cluster.nodes[0].pid_file.exists()
