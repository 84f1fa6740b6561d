"""`cell up` (what `make run` runs): everything comes up, Ctrl-C leaves no JVM behind."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from deploy.kafka.launcher import free_port
from services.cli.up import available_services

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT_S = 180.0


def _lines(stream, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for(
    proc: subprocess.Popen[str],
    lines: queue.Queue[str],
    needle: str,
    seen: list[str],
    timeout_s: float,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return
    tail = "".join(seen[-40:])
    pytest.fail(f"no {needle!r} (exit code {proc.poll()}); output tail:\n{tail}")


def _jvms_using(path: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in cmd and str(path).encode() in cmd:
                pids.append(int(proc.name))
    return pids


def _wait_healthy(gateway_port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            url = f"http://127.0.0.1:{gateway_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                return
        except OSError:
            assert time.monotonic() < deadline, "the gateway never answered /healthz"
            time.sleep(0.5)


def _cell_up(
    args: list[str], env: dict[str, str]
) -> tuple[subprocess.Popen[str], queue.Queue[str], threading.Thread]:
    """`cell up <args>` with its output read line by line into the queue by the thread."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "services.cli.main", "up", *args],
        cwd=ROOT,
        env=env | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    return proc, lines, reader


def test_cell_up_starts_everything_and_ctrl_c_stops_it_all(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP"}
    gateway_port = free_port()
    env |= {"CELL_PORT": str(gateway_port), "CELL_LOG_FORMAT": "json"}
    args = ["--state-dir", str(tmp_path), "--kafka-port", str(free_port())]
    proc, lines, reader = _cell_up(args, env)
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        _wait_for(proc, lines, "cell is up", seen, UP_TIMEOUT_S)
        assert any("topics:" in line and "created" in line for line in seen)
        assert _jvms_using(tmp_path), "no broker JVM for this state directory"
        if "gateway" in available_services():
            _wait_healthy(gateway_port)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
    while not lines.empty():
        seen.append(lines.get())
    assert proc.returncode == 0, "".join(seen[-30:])
    assert any("stopping the Kafka broker" in line for line in seen)
    assert _jvms_using(tmp_path) == [], "a Kafka JVM outlived `cell up`"


def _children(parent: int) -> dict[int, bytes]:
    """The service processes ``parent`` started: pid -> its start time (against pid reuse)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_bytes()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()  # after "(comm)": state, ppid, ...
        if int(fields[1]) == parent and b"services." in cmd:
            found[int(proc.name)] = fields[19]  # starttime
    return found


def _alive(pid: int, started: bytes) -> bool:
    """Still running as the same process (a zombie nobody reaped yet has stopped running)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_bytes()
    except OSError:
        return False
    fields = stat.rsplit(b")", 1)[1].split()
    return fields[19] == started and fields[0] not in {b"Z", b"X"}


def test_services_die_with_cell_up_killed_by_sigkill(kafka_bootstrap, tmp_path):
    """`cell up` gets no chance to stop anything: the kernel's death signal must do it."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    gateway_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELL_")}
    env |= {
        "KAFKA_BOOTSTRAP": kafka_bootstrap,  # the session's broker: no JVM of our own here
        "CELL_TOPIC_PREFIX": prefix,
        "CELL_PORT": str(gateway_port),
        "CELL_LOG_FORMAT": "json",
    }
    proc, lines, reader = _cell_up(["--state-dir", str(tmp_path)], env)
    assert proc.stdout is not None
    seen: list[str] = []
    children: dict[int, bytes] = {}
    try:
        _wait_for(proc, lines, "cell is up", seen, UP_TIMEOUT_S)
        children = _children(proc.pid)
        assert len(children) == len(available_services()), (children, "".join(seen[-20:]))
        if "gateway" in available_services():
            _wait_healthy(gateway_port)  # running services, past their start-up
        proc.kill()  # SIGKILL: no handler, no finally, no stop of the services
        proc.wait(timeout=30)
        deadline = time.monotonic() + 60
        while (left := [p for p, at in children.items() if _alive(p, at)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert left == [], f"services {left} outlived `cell up` killed with SIGKILL"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid, at in children.items():  # only the processes this test's `cell up` started
            if _alive(pid, at):
                os.kill(pid, signal.SIGKILL)
        reader.join(timeout=10)
        proc.stdout.close()
