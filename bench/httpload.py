"""HTTP/WebSocket load on uvloop (run by ``bench.loadgen``).

- ``e2e``: a recipient desk holds ``GET /v1/stream`` open from the end of its inbox
  (``end_cursor``: earlier repeats are not replayed); the sender desk POSTs one message
  per scheduled instant (``t0 + i / rate``, each in its own task so a slow answer never delays
  the next send). Latency = WebSocket frame arrival - scheduled send time.
- ``ws``: opens many WebSocket sessions, prints ``ready`` once all are open, then counts the
  message frames each receives until every session has every expected message id; prints
  when the last one arrived (monotonic clock, comparable with the harness's) and each
  token's last cursor, so the next repeat resumes after this one's frames.
- ``openloop``: POSTs at a fixed rate for a fixed count, each in its own task; records status
  and latency of every answer (for goodput under overload).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
import uuid
from typing import Any

import aiohttp
import msgspec
import uvloop

from bench.stats import Latency

DEADLINE_S = 30.0


class E2EConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    sender_token: str
    recipient_token: str
    submission: dict[str, Any]
    rate: float
    samples: int
    warmup: int


class WsConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    sessions: list[tuple[str, str]]  # (bearer token or "", resume cursor or "")
    expect: list[str]  # message ids every session must receive
    connect_parallel: int = 50


class OpenLoopConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    token: str
    body: bytes
    rate: float
    count: int
    connections: int  # client connection pool cap (the server sees at most this many)


class _Frame(msgspec.Struct, kw_only=True):
    type: str
    message: msgspec.Raw = msgspec.Raw(b"null")
    cursor: str = ""


class _Id(msgspec.Struct):
    message_id: str


class _Page(msgspec.Struct):
    messages: list[msgspec.Raw]
    cursor: str


async def end_cursor(session: aiohttp.ClientSession, url: str, token: str) -> str:
    """The desk's inbox cursor after everything already in it.

    A stream opened without a cursor starts at the oldest retained message: the measured
    frames would queue behind a replay of every earlier repeat's messages (thousands, read
    through the gateway's catch-up pool), which is not desk-to-desk latency.
    """
    headers = {"Authorization": f"Bearer {token}"}
    params = {"limit": "500", "wait": "0"}
    while True:
        async with session.get(f"{url}/v1/inbox", params=params, headers=headers) as resp:
            resp.raise_for_status()
            page = msgspec.json.decode(await resp.read(), type=_Page)
        params["cursor"] = page.cursor
        if not page.messages:
            return page.cursor


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
            f"{cfg.url}/v1/stream",
            params={"cursor": await end_cursor(session, cfg.url, cfg.recipient_token)},
            headers={"Authorization": f"Bearer {cfg.recipient_token}"},
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


class _Tally:
    """Which expected message ids each session has; when the last session got them all."""

    def __init__(self, expect: list[str], sessions: int) -> None:
        self.expected = set(expect)
        self.remaining = sessions
        self.last = 0.0
        self.sample = ""
        self.cursors: dict[str, str] = {}
        self.all_in = asyncio.Event()

    def frame(self, token: str, seen: set[str], data: str) -> None:
        decoded = msgspec.json.decode(data, type=_Frame)
        if decoded.type != "message":
            return
        mid = msgspec.json.decode(decoded.message, type=_Id).message_id
        if mid not in self.expected or mid in seen:
            return
        seen.add(mid)
        if decoded.cursor:
            self.cursors[token] = decoded.cursor
        if len(seen) == len(self.expected):
            self.sample = self.sample or data
            self.last = time.monotonic()
            self.remaining -= 1
            if self.remaining == 0:
                self.all_in.set()


async def ws_sessions(cfg: WsConfig) -> dict[str, Any]:
    tally = _Tally(cfg.expect, len(cfg.sessions))
    timeout = aiohttp.ClientTimeout(total=None, connect=DEADLINE_S)
    gate = asyncio.Semaphore(cfg.connect_parallel)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
    ) as session:

        async def connect(token: str, cursor: str) -> aiohttp.ClientWebSocketResponse:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            params = {"cursor": cursor} if cursor else {}
            async with gate:
                return await session.ws_connect(cfg.url, headers=headers, params=params)

        sockets = await asyncio.wait_for(
            asyncio.gather(*(connect(t, c) for t, c in cfg.sessions)), DEADLINE_S * 4
        )
        sys.stdout.write(f"ready {len(sockets)}\n")
        sys.stdout.flush()
        cpu0 = _cpu()

        async def receive(ws: aiohttp.ClientWebSocketResponse, token: str) -> None:
            seen: set[str] = set()
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                tally.frame(token, seen, frame.data)

        receivers = [
            asyncio.create_task(receive(ws, token))
            for ws, (token, _) in zip(sockets, cfg.sessions, strict=True)
        ]
        try:
            await asyncio.wait_for(tally.all_in.wait(), DEADLINE_S * 4)
            used = _cpu() - cpu0
        finally:
            for task in receivers:
                task.cancel()
            await asyncio.gather(*receivers, return_exceptions=True)
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"done_at": tally.last, "cpu_s": used, "sample": tally.sample, "cursors": tally.cursors}


async def open_loop(cfg: OpenLoopConfig) -> dict[str, Any]:
    statuses: dict[int, int] = {}
    latency: dict[int, list[float]] = {}
    headers = {"Authorization": f"Bearer {cfg.token}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=DEADLINE_S)
    connector = aiohttp.TCPConnector(limit=cfg.connections)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def post(at: float) -> None:
            status = 0  # no answer within the deadline / connection error
            try:
                async with session.post(cfg.url, data=cfg.body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError):
                pass
            statuses[status] = statuses.get(status, 0) + 1
            latency.setdefault(status, []).append(time.monotonic() - at)

        tasks: set[asyncio.Task[None]] = set()
        t0 = time.monotonic() + 0.05
        cpu0 = _cpu()
        for seq in range(cfg.count):
            at = t0 + seq / cfg.rate
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(post(at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_s = time.monotonic() - t0
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE_S * 2)
        elapsed = time.monotonic() - t0
    return {
        "statuses": {str(k): v for k, v in statuses.items()},
        # Percentiles here, not every sample: the answer stays one short line.
        "latency": {str(k): msgspec.to_builtins(Latency.of(v)) for k, v in latency.items() if v},
        "offered_s": sent_s,
        "elapsed_s": elapsed,
        "cpu": (_cpu() - cpu0) / elapsed,
    }


def main(mode: str, raw: str) -> dict[str, Any]:
    if mode == "e2e":
        return uvloop.run(e2e(msgspec.json.decode(raw, type=E2EConfig)))
    if mode == "ws":
        return uvloop.run(ws_sessions(msgspec.json.decode(raw, type=WsConfig)))
    if mode == "stages":
        from bench.stages import StagesConfig, stages  # noqa: PLC0415 - its own module

        return uvloop.run(stages(msgspec.json.decode(raw, type=StagesConfig)))
    if mode == "openloop":
        return uvloop.run(open_loop(msgspec.json.decode(raw, type=OpenLoopConfig)))
    raise SystemExit(f"unknown mode {mode!r}")
