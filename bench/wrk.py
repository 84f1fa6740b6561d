"""Closed-loop HTTP load with wrk (Debian package ``wrk``): a C generator that is not the
bottleneck on 2 cores. A Lua script posts one fixed body and prints a JSON summary."""

from __future__ import annotations

import asyncio
import resource
import shutil
import tempfile
from pathlib import Path

import msgspec

_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local f = assert(io.open("%(body)s", "rb"))
wrk.body = f:read("*all")
f:close()
function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"non2xx":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class WrkResult(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    duration_us: int
    non2xx: int
    connect: int
    read: int
    write: int
    timeout: int
    p50_us: int
    p99_us: int
    cpu: float = 0.0  # wrk's own CPU share over its run

    @property
    def ok_per_s(self) -> float:
        """Successful (2xx) requests per second."""
        return (self.requests - self.non2xx) / (self.duration_us / 1e6)

    @property
    def errors(self) -> int:
        return self.non2xx + self.connect + self.read + self.write + self.timeout


def available() -> bool:
    return shutil.which("wrk") is not None


async def run(url: str, body: bytes, token: str, *, connections: int, seconds: float) -> WrkResult:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_path = Path(tmp) / "body.json"
        body_path.write_bytes(body)
        script = Path(tmp) / "post.lua"
        script.write_text(_SCRIPT % {"token": token, "body": body_path}, encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), seconds + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.decode(errors='replace')[-500:]}")
    line = next(x for x in reversed(out.decode().splitlines()) if x.startswith("{"))
    result = msgspec.json.decode(line, type=WrkResult)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return msgspec.structs.replace(result, cpu=round(used / (result.duration_us / 1e6), 3))
