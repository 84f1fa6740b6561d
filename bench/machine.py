"""What the figures were measured on: CPU, cores, memory, versions."""

from __future__ import annotations

import os
import platform
import resource
import sys
from importlib import metadata
from pathlib import Path

_PACKAGES = ("aiohttp", "aiokafka", "msgspec", "pydantic", "uvloop", "structlog", "faststream")


def machine() -> dict[str, object]:
    cpu = "unknown"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with Path("/proc/meminfo").open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def versions(kafka: str) -> dict[str, str]:
    found = {"python": sys.version.split()[0], "kafka": kafka}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def kafka_jar_version() -> str:
    """The broker version of the Maven-resolved jars (what the launcher runs)."""
    from deploy.kafka import jars  # noqa: PLC0415 - only when no external broker is named

    try:
        return jars.kafka_version(jars.libs_dir())
    except (OSError, jars.JarFetchError) as exc:
        return f"unknown ({exc})"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def cpu_pressure_us() -> int | None:
    """Microseconds during which some runnable task waited for a CPU (Linux PSI), if known."""
    try:
        text = Path("/proc/pressure/cpu").read_text(encoding="utf-8")
    except OSError:
        return None
    first = text.splitlines()[0]  # "some avg10=.. avg60=.. avg300=.. total=N"
    return int(first.rsplit("total=", 1)[1])
