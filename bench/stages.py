"""``stages`` load mode: where desk-to-desk time goes, stage by stage (run by ``bench.loadgen``).

Open loop like ``e2e``; besides the POST answer and the WebSocket frame it watches, with
consumers of its own (5 ms long poll, so they add little), when each message appears on the
submit lane, on the recipient's inbox lane uncommitted (the router produced it) and
committed (its transaction committed: what the gateway's read_committed tail can see).
Stages: POST -> 202, POST -> on submit lane, submit -> inbox (router consume, plan,
produce), inbox -> committed (rest of the transaction), committed -> WebSocket frame
(gateway tail, pump, writer, client).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import aiohttp
import msgspec
from aiokafka import AIOKafkaConsumer

from bench.httpload import end_cursor

DEADLINE_S = 30.0
MARKS = ("post", "accepted", "submit", "inbox", "committed", "frame")
STAGES = (
    ("post", "accepted", "POST -> 202 (gateway publish, acks=all)"),
    ("post", "submit", "POST -> record on the submit lane"),
    ("submit", "inbox", "submit lane -> inbox copy written (router)"),
    ("inbox", "committed", "inbox copy -> committed (router transaction)"),
    ("committed", "frame", "committed -> WebSocket frame (gateway tail and stream)"),
    ("post", "frame", "total: POST -> WebSocket frame"),
)


class StagesConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    bootstrap: str
    submit_topic: str
    inbox_topic: str
    sender_token: str
    recipient_token: str
    submission: dict[str, Any]
    rate: float
    samples: int
    warmup: int


class _Id(msgspec.Struct):
    message_id: str


class _Frame(msgspec.Struct, kw_only=True):
    type: str
    message: msgspec.Raw = msgspec.Raw(b"null")


def _consumer(cfg: StagesConfig, topic: str, isolation: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=cfg.bootstrap,
        isolation_level=isolation,
        fetch_max_wait_ms=5,
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )


async def _watch(consumer: AIOKafkaConsumer, seen: dict[str, float]) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=100)
        now = time.monotonic()
        for records in batches.values():
            for record in records:
                seen.setdefault(msgspec.json.decode(record.value, type=_Id).message_id, now)


async def _open_loop(
    cfg: StagesConfig,
    http: aiohttp.ClientSession,
    ids: list[str],
    marks: dict[str, dict[str, float]],
) -> None:
    send = {"Authorization": f"Bearer {cfg.sender_token}", "Content-Type": "application/json"}

    async def post(mid: str, at: float) -> None:
        marks["post"][mid] = at
        body = msgspec.json.encode(cfg.submission | {"message_id": mid})
        async with http.post(f"{cfg.url}/v1/messages", data=body, headers=send) as resp:
            await resp.read()
        marks["accepted"][mid] = time.monotonic()

    posts = []
    t0 = time.monotonic() + 0.05
    for seq, mid in enumerate(ids):
        at = t0 + seq / cfg.rate
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(post(mid, at)))
    await asyncio.wait_for(asyncio.gather(*posts), DEADLINE_S)


async def stages(cfg: StagesConfig) -> dict[str, Any]:
    marks: dict[str, dict[str, float]] = {m: {} for m in MARKS}
    consumers = {
        "submit": _consumer(cfg, cfg.submit_topic, "read_uncommitted"),
        "inbox": _consumer(cfg, cfg.inbox_topic, "read_uncommitted"),
        "committed": _consumer(cfg, cfg.inbox_topic, "read_committed"),
    }
    for consumer in consumers.values():
        await asyncio.wait_for(consumer.start(), DEADLINE_S)
        await asyncio.wait_for(consumer.seek_to_end(), DEADLINE_S)
    tasks = [asyncio.create_task(_watch(c, marks[name])) for name, c in consumers.items()]
    ids = [str(uuid.uuid4()) for _ in range(cfg.warmup + cfg.samples)]
    all_in = asyncio.Event()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DEADLINE_S)) as http:
            ws = await http.ws_connect(
                f"{cfg.url}/v1/stream",
                params={"cursor": await end_cursor(http, cfg.url, cfg.recipient_token)},
                headers={"Authorization": f"Bearer {cfg.recipient_token}"},
            )

            async def frames() -> None:
                async for frame in ws:
                    now = time.monotonic()
                    decoded = msgspec.json.decode(frame.data, type=_Frame)
                    if decoded.type == "message":
                        mid = msgspec.json.decode(decoded.message, type=_Id).message_id
                        marks["frame"].setdefault(mid, now)
                        if len(marks["frame"]) >= len(ids):
                            all_in.set()

            tasks.append(asyncio.create_task(frames()))
            await _open_loop(cfg, http, ids, marks)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), DEADLINE_S)
            await ws.close()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for consumer in consumers.values():
            await asyncio.wait_for(consumer.stop(), DEADLINE_S)
    measured = ids[cfg.warmup :]
    return {
        name: [
            marks[b][mid] - marks[a][mid] for mid in measured if mid in marks[a] and mid in marks[b]
        ]
        for a, b, name in STAGES
    }
