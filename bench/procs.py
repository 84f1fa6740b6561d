"""Child processes of a run: servers under test and load generators, each on its own core share.

Every child is started by this process, waited for on a deadline, stopped by its pid (SIGTERM,
then SIGKILL), and its CPU use read from /proc while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import msgspec

from bench.machine import cpu_seconds
from services.runtime.process import die_with_parent

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout_s}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def python_module(
    module: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``python -m module args``, stdout and stderr appended to ``log`` (or discarded).

    Never a pipe nobody reads: a service logging a line per request would block on it.
    """
    full_env = os.environ | dict(env or {})
    sink = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - prctl only, see services.runtime.process
        )
    finally:
        if not isinstance(sink, int):
            sink.close()


@contextlib.contextmanager
def running(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield proc
    finally:
        stop(proc)


class CpuMeter:
    """CPU share (1.0 = one core) of live processes over a measured window."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._start = {name: cpu_seconds(pid) for name, pid in self._pids.items()}
        self._t0 = time.monotonic()

    def shares(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        return {
            name: round((cpu_seconds(pid) - self._start[name]) / elapsed, 3)
            for name, pid in self._pids.items()
        }


async def run_loadgen(mode: str, config: msgspec.Struct, timeout_s: float) -> bytes:
    """Run ``python -m bench.loadgen mode`` with ``config``; return its JSON result line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        mode,
        msgspec.json.encode(config).decode(),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent(),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        tail = err.decode(errors="replace")[-2000:]
        raise RuntimeError(f"loadgen {mode} failed ({proc.returncode}): {tail}")
    return out.strip().splitlines()[-1]
