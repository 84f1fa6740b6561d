"""HTTP/WebSocket load on uvloop (run by ``bench.loadgen``): the ``e2e`` open-loop probe.

A recipient desk holds ``GET /v1/stream`` open; the sender desk POSTs one message per
scheduled instant (``t0 + i / rate``, each in its own task so a slow answer never delays the
next send). Latency = WebSocket frame arrival - scheduled send time.
"""

from __future__ import annotations

import asyncio
import resource
import time
import uuid
from typing import Any

import aiohttp
import msgspec
import uvloop

DEADLINE_S = 30.0


class E2EConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    sender_token: str
    recipient_token: str
    submission: dict[str, Any]
    rate: float
    samples: int
    warmup: int


class _Frame(msgspec.Struct, kw_only=True):
    type: str
    message: msgspec.Raw = msgspec.Raw(b"null")


class _Id(msgspec.Struct):
    message_id: str


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def e2e(cfg: E2EConfig) -> dict[str, Any]:
    total = cfg.warmup + cfg.samples
    ids = [str(uuid.uuid4()) for _ in range(total)]
    index = {mid: i for i, mid in enumerate(ids)}
    scheduled: list[float] = [0.0] * total
    arrived: dict[int, float] = {}
    statuses: dict[int, int] = {}
    all_in = asyncio.Event()
    send = {"Authorization": f"Bearer {cfg.sender_token}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=DEADLINE_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ws = await session.ws_connect(
            f"{cfg.url}/v1/stream", headers={"Authorization": f"Bearer {cfg.recipient_token}"}
        )

        async def receive() -> None:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.monotonic()
                decoded = msgspec.json.decode(frame.data, type=_Frame)
                if decoded.type == "message":
                    seq = index.get(msgspec.json.decode(decoded.message, type=_Id).message_id)
                    if seq is not None:
                        arrived[seq] = now
                        if len(arrived) == total:
                            all_in.set()

        async def post(seq: int) -> None:
            body = msgspec.json.encode(cfg.submission | {"message_id": ids[seq]})
            async with session.post(f"{cfg.url}/v1/messages", data=body, headers=send) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1

        receiver = asyncio.create_task(receive())
        posts: set[asyncio.Task[None]] = set()
        t0 = time.monotonic() + 0.05
        cpu0 = _cpu()
        try:
            for seq in range(total):
                at = t0 + seq / cfg.rate
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                scheduled[seq] = at
                task = asyncio.create_task(post(seq))
                posts.add(task)
                task.add_done_callback(posts.discard)
            await asyncio.wait_for(asyncio.gather(*posts), DEADLINE_S)
            await asyncio.wait_for(all_in.wait(), DEADLINE_S)
            elapsed = time.monotonic() - t0
        finally:
            await ws.close()
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
    latencies = [arrived[s] - scheduled[s] for s in range(cfg.warmup, total)]
    return {
        "latencies": latencies,
        "cpu": (_cpu() - cpu0) / elapsed,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main(mode: str, raw: str) -> dict[str, Any]:
    if mode != "e2e":
        raise SystemExit(f"unknown mode {mode!r}")
    return uvloop.run(e2e(msgspec.json.decode(raw, type=E2EConfig)))
