"""One isolated cell on the fault cluster: desks, topics, and the real processes as subprocesses.

``FaultCell`` owns a unique topic prefix, a desk registry file with known tokens, and every
process it started (gateway, router, domain services), each a ``python -m services.<name>``
child with ``CELL_*`` settings, its JSON log in the cell's directory. Processes are stopped
(SIGTERM, then SIGKILL) by pid at teardown; nothing else is ever signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from schemas import topics
from schemas.desks import Desk, DeskRegistry
from schemas.precedence import LANES_HIGH_FIRST
from services.runtime.process import die_with_parent
from services.runtime.provision import provision

ROOT = Path(__file__).resolve().parents[2]
NATIONS = ("USA", "UKR", "GBR", "FRA", "DEU", "POL", "ITA", "CAN", "NLD")
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)


def token_of(desk_id: str) -> str:
    return f"tok-{desk_id}-{hashlib.sha256(desk_id.encode()).hexdigest()[:12]}"


def make_registry(count: int = 25, **extra: dict[str, Any]) -> DeskRegistry:
    """``count`` operational desks across nine nations, all SECRET, all with tokens."""
    desks = []
    for i in range(count):
        nation = NATIONS[i % len(NATIONS)]
        desk_id = f"{nation.lower()}.d{i:02d}"
        fields: dict[str, Any] = {
            "id": desk_id,
            "nation": nation,
            "clearance": "SECRET",
            "roles": ["FLASH", "MONITOR"] if i % 5 == 0 else [],
            "token_sha256": [hashlib.sha256(token_of(desk_id).encode()).hexdigest()],
        }
        desks.append(msgspec.convert(fields | extra.get(desk_id, {}), Desk))
    return DeskRegistry(desks=tuple(desks), description="fault-test desks")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
                preexec_fn=die_with_parent(),  # noqa: PLW1509 - prctl only
            )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            await asyncio.to_thread(self.process.wait, 30)

    async def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 30)
        return self.process.returncode

    def log_tail(self, chars: int = 3000) -> str:
        """The log's end, preceded by the line saying why the service ended, if it did."""
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        fatal = [line for line in text.splitlines() if '"service_failed"' in line]
        return "\n".join([*fatal[-1:], text[-chars:]])


@dataclass
class FaultCell:
    bootstrap: str
    directory: Path
    registry: DeskRegistry = field(default_factory=make_registry)
    prefix: str = field(default_factory=lambda: f"f{uuid.uuid4().hex[:8]}.")
    procs: list[Proc] = field(default_factory=list)
    replication: int = 3

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.desks_file = self.directory / "desks.json"
        self.desks_file.write_bytes(msgspec.json.encode(self.registry))

    async def provision(self) -> None:
        specs = topics.registry(
            self.registry, prefix=self.prefix, replication_factor=self.replication
        )
        report = await provision(self.bootstrap, specs, timeout_s=120.0)
        assert report.ok, report.drift

    def env(self, **overrides: str) -> dict[str, str]:
        values = {
            "CELL_KAFKA_BOOTSTRAP": self.bootstrap,
            "CELL_TOPIC_PREFIX": self.prefix,
            "CELL_DESKS_FILE": str(self.desks_file),
            "CELL_LOG_FORMAT": "json",
            "CELL_LOG_LEVEL": "INFO",
            "CELL_KAFKA_TIMEOUT_S": "5",
        }
        return os.environ | values | overrides

    def spawn(self, module: str, *, port: int | None = None, **env: str) -> Proc:
        index = sum(1 for p in self.procs if p.name.startswith(module))
        proc = Proc(
            name=f"{module}-{index}",
            argv=[sys.executable, "-m", module],
            env=self.env(**env),
            log=self.directory / f"{module.rsplit('.', 1)[-1]}-{index}.log",
            port=port,
        )
        self.procs.append(proc.start())
        return proc

    def gateway(self, **env: str) -> Proc:
        port = free_port()
        values = {
            "CELL_PORT": str(port),
            "CELL_CURSOR_SECRET": "fault-cursor-secret",
            "CELL_RATE_MESSAGES_PER_S": "100000",
            "CELL_RATE_MESSAGES_BURST": "100000",
            "CELL_RATE_BYTES_PER_S": str(1 << 30),
            "CELL_RATE_BYTES_BURST": str(1 << 30),
            "CELL_PUBLISH_DEADLINE_S": "5",
            "CELL_RETRY_AFTER_S": "1",
            "CELL_LOG_LEVEL": "WARNING",
        }
        return self.spawn("services.gateway", port=port, **(values | env))

    def router(self, **env: str) -> Proc:
        values = {"CELL_BATCH_MAX_RECORDS": "300", "CELL_LOG_LEVEL": "WARNING"}
        return self.spawn("services.router", **(values | env))

    async def wait_http(self, proc: Proc, path: str = "/healthz", timeout_s: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                assert proc.alive(), f"{proc.name} exited:\n{proc.log_tail()}"
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(proc.url + path) as response:
                        if response.status == 200:
                            return
                assert loop.time() < deadline, f"{proc.name} {path} not 200:\n{proc.log_tail()}"
                await asyncio.sleep(0.3)

    async def stop_all(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                await proc.stop()

    def auth(self, desk_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_of(desk_id)}"}

    def inboxes(self, desk: Desk) -> list[str]:
        return [topics.inbox_topic(desk, lane, prefix=self.prefix) for lane in LANES_HIGH_FIRST]

    def all_inboxes(self) -> list[str]:
        return [t for desk in self.registry.desks for t in self.inboxes(desk)]

    def submit_topics(self) -> list[str]:
        return [topics.submit_topic(lane, prefix=self.prefix) for lane in LANES_HIGH_FIRST]
