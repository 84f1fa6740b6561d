"""kill -9 the gateway with 100 WebSocket clients connected: they resume on a new gateway from
their cursors, with no gap and no duplicate.

25 desks x 4 streams (the per-desk cap) in one process. Each client keeps the cursor of the
last frame it took; when its socket dies it reconnects to whichever gateway is current,
resuming from that cursor. At the end each client must hold exactly its desk's inbox (the
messages addressed to it and the router's reports to it as originator), each once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import pytest
from fault_cell import FaultCell, Proc
from fault_checker import Inboxes, record_figures
from fault_load import BatchLoad

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

MESSAGES = 2_000
STREAMS_PER_DESK = 4


@dataclass
class StreamClient:
    desk: str
    received: list[str] = field(default_factory=list)
    cursor: str | None = None
    connects: int = 0
    cursor_at_reconnect: list[bool] = field(default_factory=list)

    async def run(self, cell: FaultCell, gateway: list[Proc], done: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not done.is_set():
                params = {"cursor": self.cursor} if self.cursor else {}
                try:
                    async with http.ws_connect(
                        gateway[0].url + "/v1/stream",
                        params=params,
                        headers=cell.auth(self.desk),
                        timeout=aiohttp.ClientWSTimeout(ws_close=2),
                    ) as ws:
                        self.connects += 1
                        self.cursor_at_reconnect.append(self.cursor is not None)
                        await self._take(ws, done)
                except (aiohttp.ClientError, TimeoutError, ConnectionError):
                    await asyncio.sleep(0.3)

    async def _take(self, ws: aiohttp.ClientWebSocketResponse, done: asyncio.Event) -> None:
        while not done.is_set():
            try:
                message = await ws.receive(timeout=1)
            except TimeoutError:
                continue
            if message.type is not aiohttp.WSMsgType.TEXT:
                return  # closed, closing or error: reconnect
            frame = message.json()
            if frame["type"] == "message":
                self.received.append(frame["message"]["message_id"])
            self.cursor = frame["cursor"]


async def test_gateway_kill9_with_100_streams_resume_without_gap_or_duplicate(
    fault_cell: FaultCell,
) -> None:
    cell = fault_cell
    current = [cell.gateway(CELL_WS_HEARTBEAT_S="5", CELL_KAFKA_TIMEOUT_S="10")]
    await cell.wait_http(current[0])
    router = cell.router()
    clients = [
        StreamClient(desk.id) for desk in cell.registry.desks for _ in range(STREAMS_PER_DESK)
    ]
    done = asyncio.Event()
    streaming = [asyncio.create_task(c.run(cell, current, done)) for c in clients]
    load = BatchLoad(cell, lambda: current[0].url, MESSAGES, batch=50, concurrency=2, pace_s=0.5)
    try:
        async with Inboxes(cell.bootstrap, cell.registry, cell.prefix) as inboxes:
            await _all_connected(clients)
            loading = asyncio.create_task(load.run())
            try:
                load.hold(1_600)  # released as the gateway dies: the kill lands mid-stream
                await load.reached(800)
                await _all_received(clients)
                before_kill = [c.connects for c in clients]
                mid_stream = load.release()
                await current[0].kill9()
                current[0] = cell.gateway(CELL_WS_HEARTBEAT_S="5", CELL_KAFKA_TIMEOUT_S="10")
                await cell.wait_http(current[0])
                await asyncio.wait_for(loading, 600)
            finally:
                loading.cancel()
            converged = await inboxes.wait_until(lambda ib: ib.has_all(load.ledger), 240)
            assert await router.stop() == 0, router.log_tail()
            await inboxes.read_to_end()
            expected: dict[str, Counter[str]] = {c.desk: Counter() for c in clients}
            for counts in (inboxes.copies, inboxes.reports):
                for (message_id, desk), n in counts.items():
                    expected[desk][message_id] += n
            caught_up = await _caught_up(clients, expected)
    finally:
        done.set()
        for task in streaming:
            task.cancel()
        for task in streaming:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    verdict = inboxes.verdict(load.ledger)
    frames = sum(len(c.received) for c in clients)
    early = sum(before_kill) - len(clients)
    gaps = sum(1 for c in clients if set(expected[c.desk]) - set(c.received))
    dups = sum(1 for c in clients if max(Counter(c.received).values(), default=1) > 1)
    record_figures(
        "5-gateway-kill-streams",
        order=5,
        title="Gateway kill -9 with 100 WebSocket streams",
        load=f"{MESSAGES} submissions; {len(clients)} streams over 25 desks",
        faults="kill -9 gateway; clients resume on a new gateway from their cursors",
        acknowledged=verdict.acknowledged,
        delivered=verdict.delivered,
        lost=verdict.lost,
        duplicated=verdict.duplicated + verdict.report_duplicates,
        unexpected=verdict.unexpected,
        server_errors=load.ledger.server_errors,
        recovery=f"acks {load.ledger.longest_ack_gap():.1f} s / deliveries "
        f"{verdict.delivery_stall_s:.1f} s",
        notes=f"{frames} frames received by the streams; clients with a gap: {gaps}, with a "
        f"duplicate: {dups}; reconnections before the kill (streams the gateway closed "
        f"with 1011 when an inbox catch-up read exceeded its Kafka deadline): {early}",
        verdict=verdict,
    )
    assert mid_stream
    assert converged, verdict
    verdict.assert_clean(router.log_tail())
    # Every stream came back after the kill, resuming from a cursor.
    assert all(
        c.connects > n and all(c.cursor_at_reconnect[n:])
        for c, n in zip(clients, before_kill, strict=True)
    )
    assert caught_up, [
        (c.desk, len(c.received), sum(expected[c.desk].values())) for c in clients[:8]
    ]
    assert (gaps, dups) == (0, 0)
    for c in clients:
        assert Counter(c.received) == expected[c.desk], c.desk


async def _all_connected(clients: list[StreamClient], timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while not all(c.connects for c in clients):  # noqa: ASYNC110 - polls 100 clients
            await asyncio.sleep(0.2)


async def _all_received(clients: list[StreamClient], timeout_s: float = 120) -> None:
    async with asyncio.timeout(timeout_s):
        while not all(c.received for c in clients):  # noqa: ASYNC110 - polls 100 clients
            await asyncio.sleep(0.2)


async def _caught_up(
    clients: list[StreamClient], expected: dict[str, Counter[str]], timeout_s: float = 120
) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if all(len(c.received) >= sum(expected[c.desk].values()) for c in clients):
            return True
        await asyncio.sleep(0.3)
    return False
