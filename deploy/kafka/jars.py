"""Resolve the Apache Kafka broker jars from Maven Central, once.

The pom-only project beside this file declares the broker (`kafka_2.13`) and the log4j binding
the release tarball would bundle. Maven copies the runtime closure into a cache directory keyed
by the pom's hash, so a second run (or a second clone on the same machine) downloads nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

POM = Path(__file__).with_name("pom.xml")
_COMPLETE = ".complete"
_MVN_TIMEOUT_S = 600.0


class JarFetchError(RuntimeError):
    """Maven could not resolve the broker jars; the message carries Maven's output tail."""


def cache_root() -> Path:
    configured = os.environ.get("CELL_KAFKA_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "paris-cell" / "kafka"


def libs_dir() -> Path:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return cache_root() / digest / "libs"


def kafka_version(libs: Path) -> str:
    """The broker version, read off the `kafka_2.13-<version>.jar` in the resolved closure."""
    for jar in libs.glob("kafka_2.13-*.jar"):
        return jar.stem.removeprefix("kafka_2.13-")
    raise JarFetchError(f"no kafka_2.13 jar in {libs}")


def _say(message: str) -> None:
    # Progress goes to stderr so that `fetch` can print the libs path alone on stdout.
    print(f"[kafka-jars] {message}", file=sys.stderr, flush=True)


def _mvn(target: Path, *, offline: bool) -> subprocess.CompletedProcess[str]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError("`mvn` is not on PATH: install Apache Maven (ships with the machine)")
    cmd = [
        mvn,
        "-B",
        "-q",
        *(["-o"] if offline else []),
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={target}",
        "-DincludeScope=runtime",
    ]
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd, capture_output=True, text=True, timeout=_MVN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise JarFetchError(
            f"Maven did not finish resolving the Kafka jars within {_MVN_TIMEOUT_S:.0f}s"
        ) from exc


def fetch(*, quiet: bool = False) -> Path:
    """Return the directory holding the broker classpath, resolving it on first use."""
    libs = libs_dir()
    if (libs / _COMPLETE).exists():
        if not quiet:
            _say(f"Kafka {kafka_version(libs)} jars cached at {libs}: nothing to download")
        return libs
    staging = libs.with_name(f"libs.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    started = time.monotonic()
    # ~/.m2 may already hold the closure (another checkout, an earlier cache wipe): try offline.
    result = _mvn(staging, offline=True)
    if result.returncode != 0:
        _say("resolving the Kafka broker jars from Maven Central (first run, about 45 MB)...")
        result = _mvn(staging, offline=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise JarFetchError(f"Maven failed to resolve the Kafka broker jars:\n{tail}")
    (staging / _COMPLETE).write_text(f"{time.time()}\n")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    count = len(list(libs.glob("*.jar")))
    _say(f"Kafka {kafka_version(libs)}: {count} jars in {libs} ({time.monotonic() - started:.1f}s)")
    return libs
