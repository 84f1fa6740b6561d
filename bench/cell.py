"""The cell under test: topics of the demo registry under a unique prefix, gateway and router
as child processes (``python -m services.gateway`` / ``services.router``) with CELL_* env."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path

import msgspec

from bench.procs import ROOT, free_port, python_module, stop, wait_port
from schemas import topics
from services.gateway.auth import load_desks
from services.runtime.provision import provision

DESKS_FILE = ROOT / "deploy" / "desks" / "demo.json"
TOKENS_FILE = ROOT / "deploy" / "desks" / "demo-tokens.json"
LOGS = ROOT / ".state" / "bench-logs"
# Limits that would throttle a benchmark desk are lifted; everything else is the default.
_UNLIMITED = {
    "CELL_RATE_MESSAGES_PER_S": "1000000000",
    "CELL_RATE_MESSAGES_BURST": "1000000000",
    "CELL_RATE_BYTES_PER_S": "1000000000000",
    "CELL_RATE_BYTES_BURST": "1000000000000",
}


def token(desk: str) -> str:
    tokens: dict[str, str] = msgspec.json.decode(TOKENS_FILE.read_bytes())["tokens"]
    return tokens[desk]


async def provision_cell(bootstrap: str, prefix: str, desks_file: Path = DESKS_FILE) -> None:
    specs = topics.registry(load_desks(str(desks_file)), prefix=prefix)
    report = await provision(bootstrap, specs, timeout_s=120.0)
    if not report.ok:
        raise RuntimeError(f"topic drift under {prefix}: {report.drift}")


def _env(bootstrap: str, prefix: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        "CELL_KAFKA_BOOTSTRAP": bootstrap,
        "CELL_TOPIC_PREFIX": prefix,
        "CELL_DESKS_FILE": str(DESKS_FILE),
        "CELL_LOG_FORMAT": "json",
        "CELL_LOG_LEVEL": "INFO",
        "CELL_CURSOR_SECRET": "bench-cursor-secret",
    } | extra


def service_env(bootstrap: str, prefix: str) -> dict[str, str]:
    """The CELL_* environment of a cell service run by the bench."""
    return _env(bootstrap, prefix, {})


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int = 0
    log: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop(self.proc)


def gateway_log(prefix: str) -> Path:
    """Where the gateways of ``prefix`` append their output."""
    return LOGS / f"gateway-{prefix}log"


def start_gateway(bootstrap: str, prefix: str, **settings: str) -> Service:
    port = free_port()
    log = gateway_log(prefix)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = _env(bootstrap, prefix, _UNLIMITED | {"CELL_PORT": str(port), "CELL_HOST": "127.0.0.1"})
    proc = python_module("services.gateway", env=env | settings, log=log)
    try:
        wait_port(port, proc, timeout_s=60.0)
    except BaseException:
        stop(proc)
        raise
    return Service(proc=proc, port=port, log=log)


def start_router(bootstrap: str, prefix: str, **settings: str) -> Service:
    log = LOGS / f"router-{prefix}log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = _env(bootstrap, prefix, {"CELL_GROUP_ID": f"{prefix}router"})
    return Service(proc=python_module("services.router", env=env | settings, log=log), log=log)


def start_server(kind: str, bootstrap: str, topic: str) -> Service:
    port = free_port()
    log = LOGS / f"{kind}-{topic}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = python_module("bench.servers", kind, str(port), bootstrap, topic, log=log)
    try:
        wait_port(port, proc, timeout_s=60.0)
    except BaseException:
        stop(proc)
        raise
    return Service(proc=proc, port=port, log=log)


async def delete_prefix(bootstrap: str, prefix: str) -> int:
    """Delete every topic under ``prefix``; a single test broker slows badly past a few
    thousand partitions, so each scenario removes what it created."""
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60_000)
    await asyncio.wait_for(admin.start(), 30.0)
    try:
        names = [
            t for t in await asyncio.wait_for(admin.list_topics(), 30.0) if t.startswith(prefix)
        ]
        for start in range(0, len(names), 200):
            await admin.delete_topics(names[start : start + 200], timeout_ms=60_000)
    finally:
        await admin.close()
    return len(names)


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: PLC0415

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await asyncio.wait_for(admin.start(), 30.0)
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)], timeout_ms=30_000)
    finally:
        await admin.close()
