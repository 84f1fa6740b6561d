"""Where a server's CPU goes: a py-spy sample of its Python stacks under the scenario's load.

Taken in an extra pass after the measured repeats (sampling costs the target a little CPU, so
it never overlaps a measured window). Each sample is charged to an *area* by its innermost
frame that belongs to one (logging, metrics, contracts, Kafka client, our service code, HTTP),
so the areas add up to 100 % of the samples; the functions with the most samples
of their own are listed too. This is the "profile, and write down what bounds it" of the
benchmark issue, done by the run itself instead of by hand.

py-spy reads the target's memory (ptrace): without the permission, or without py-spy, the
scenario records why there is no profile and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from msgspec import Struct

SAMPLE_RATE_HZ = 200
TOP_FUNCTIONS = 8
# Innermost match wins; order matters only between patterns that could match the same frame.
# Patterns match a frame's file path from the start of one of its directories (py-spy prints
# paths relative to sys.path: ``logging/__init__.py``, ``services/gateway/app.py``).
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("logging/", "structlog/", "runtime/logging.py", "runtime/canonical.py")),
    ("metrics", ("prometheus_client/", "gateway/metrics.py", "runtime/metrics.py")),
    ("contracts (decode, validate, encode)", ("schemas/", "msgspec/")),
    ("Kafka client (aiokafka)", ("aiokafka/",)),
    ("gateway code", ("services/gateway/",)),
    ("router code", ("services/router/",)),
    ("runtime code", ("services/runtime/",)),
    ("HTTP (aiohttp, multidict, yarl)", ("aiohttp/", "multidict/", "yarl/")),
)
_LOOP = ("event loop (asyncio, selectors)", ("asyncio/", "uvloop/", "selectors.py"))
# Frames that dispatch callbacks (Handle._run, _run_once, run_forever, asyncio.run).
_DISPATCH = ("/asyncio/events.py", "/asyncio/base_events.py", "/asyncio/runners.py")
OTHER = "other"


class Profile(Struct, frozen=True, kw_only=True, omit_defaults=True):
    samples: int = 0
    seconds: float = 0.0
    areas: dict[str, float] = {}  # area -> share of samples (0..1), largest first
    top: dict[str, float] = {}  # "function (file)" -> share of samples spent in it
    error: str = ""  # why there is no profile

    def render(self) -> str:
        if self.error:
            return f"no profile: {self.error}"
        areas = ", ".join(f"{name} {share:.0%}" for name, share in self.areas.items())
        top = ", ".join(f"`{name}` {share:.1%}" for name, share in self.top.items())
        return (
            f"py-spy, {self.samples} samples over {self.seconds:g} s in an extra pass: "
            f"{areas}. Most samples of their own: {top}"
        )


def available() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def during(pid: int, load: Awaitable[Any], *, seconds: float) -> Profile:
    """Sample ``pid`` for ``seconds`` while ``load`` runs (the load should last a little longer)."""
    exe = available()
    loading = asyncio.ensure_future(load)
    try:
        if exe is None:
            return Profile(error="py-spy is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "raw.txt"
            await asyncio.sleep(0.5)  # the load reaches its steady state first
            proc = await asyncio.create_subprocess_exec(
                exe,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(SAMPLE_RATE_HZ),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await asyncio.wait_for(proc.communicate(), seconds + 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                return Profile(error=f"py-spy did not finish within {seconds + 30:g} s")
            if proc.returncode != 0 or not out.exists():
                tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                return Profile(error=f"py-spy exited {proc.returncode}: {tail[0][:200]}")
            return summarise(out.read_text(errors="replace"), seconds=seconds)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await loading


def summarise(raw: str, *, seconds: float) -> Profile:
    """Summarise py-spy's raw (collapsed) stacks: ``frame;frame;... count`` per line."""
    areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[_function(frames[-1])] += count
        areas[_area(frames)] += count
    if total == 0:
        return Profile(error="py-spy recorded no samples (the process was idle)")
    return Profile(
        samples=total,
        seconds=seconds,
        areas={name: round(n / total, 4) for name, n in areas.most_common()},
        top={name: round(n / total, 4) for name, n in own.most_common(TOP_FUNCTIONS)},
    )


def _area(frames: list[str]) -> str:
    # The event loop is transparent: a socket write under aiohttp is HTTP's cost, under
    # aiokafka the client's; a sample with nothing else inside the loop's dispatch (an idle
    # select, the loop's own bookkeeping) is the loop's.
    loop_seen = False
    for frame in reversed(frames):
        path = "/" + _path(frame)
        if path.endswith(_DISPATCH):
            break  # outside the loop's dispatch there is only the process's entry point
        if any("/" + pattern in path for pattern in _LOOP[1]):
            loop_seen = True
            continue
        for name, patterns in AREAS:
            if any("/" + pattern in path for pattern in patterns):
                return name
    return _LOOP[0] if loop_seen else OTHER


def _path(frame: str) -> str:
    return frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def _function(frame: str) -> str:
    """``encode (/x/site-packages/msgspec/json.py:12)`` -> ``encode (msgspec/json.py)``."""
    name = frame.partition(" (")[0]
    path = _path(frame)
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({short})" if short else name
