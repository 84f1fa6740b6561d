"""GET /v1/stream against the real broker: push, resume, slow clients, limits."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest
from inbox_support import envelope, router_stand_in

from schemas.precedence import Precedence
from services.gateway.inbox.state import STATE, STREAMS_PER_DESK
from services.gateway.inbox.stream import CLOSE_SLOW_CONSUMER

pytestmark = pytest.mark.integration

P = Precedence
RANK = {lane.value: lane.rank for lane in P}


async def _frames(ws: Any, count: int) -> list[dict[str, Any]]:
    frames = []
    async with asyncio.timeout(30):
        while len(frames) < count:
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.TEXT, message
            frames.append(message.json())
    return frames


async def test_stream_pushes_and_resumes_exactly_once_in_precedence_order(
    gateway_client, auth, gateway_settings, gateway_desks
):
    headers = auth("ukr.gs")
    backlog = [envelope(precedence=lane, to=("ukr.gs",)) for lane in (P.ROUTINE, P.IMMEDIATE) * 3]
    async with router_stand_in(gateway_settings, gateway_desks) as router:
        await router.deliver("ukr.gs", backlog)
        ws = await gateway_client.ws_connect("/v1/stream", headers=headers)
        # The backlog may arrive while the gateway catches up; wait for all of it.
        got = await _frames(ws, len(backlog))
        live = envelope(precedence=P.FLASH, to=("ukr.gs",))
        await router.deliver("ukr.gs", [live])
        (pushed,) = await _frames(ws, 1)
        assert pushed["message"]["message_id"] == str(live.message_id)
        assert pushed["lane"] == "FLASH"
        got.append(pushed)
        await ws.close()
        # While disconnected: more traffic, lowest first.
        later = [
            envelope(precedence=lane, to=("ukr.gs",)) for lane in (P.ROUTINE, P.PRIORITY, P.FLASH)
        ]
        await router.deliver("ukr.gs", later)
        resume_from = got[3]["cursor"]  # as if the client had processed only four frames
        await _until_pending(gateway_client, headers, resume_from, len(got) - 4 + len(later))
        ws = await gateway_client.ws_connect(
            "/v1/stream", params={"cursor": resume_from}, headers=headers
        )
        resumed = await _frames(ws, len(got) - 4 + len(later))
        await ws.close()
    processed = got[:4] + resumed
    ids = [f["message"]["message_id"] for f in processed]
    expected = {str(e.message_id) for e in [*backlog, live, *later]}
    assert set(ids) == expected
    assert len(ids) == len(expected)  # nothing twice
    # After resuming, everything pending came highest precedence first.
    ranks = [RANK[f["lane"]] for f in resumed]
    assert ranks == sorted(ranks, reverse=True)
    assert all(f["type"] == "message" for f in processed)


async def _until_pending(client: Any, headers: Any, cursor: str, count: int) -> None:
    """Wait until the gateway knows of ``count`` pending messages after ``cursor``."""
    async with asyncio.timeout(30):
        while True:
            response = await client.get(
                "/v1/inbox", params={"cursor": cursor, "limit": "100"}, headers=headers
            )
            if len((await response.json())["messages"]) >= count:
                return
            await asyncio.sleep(0.1)


def _tiny_receive_buffer(addr_info: Any) -> socket.socket:
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family=family, type=kind, proto=proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    sock.setblocking(False)  # noqa: FBT003 - the stdlib's signature
    return sock


async def test_slow_client_is_disconnected_with_a_resumable_cursor(
    make_client, make_settings, auth, gateway_settings, gateway_desks
):
    settings = make_settings(ws_send_queue=4, ws_heartbeat_s=4.0)
    client = await make_client(settings)
    state = client.app[STATE]
    backlog = [
        envelope(precedence=P.ROUTINE, to=("fra.cell",), text="x" * 8000) for _ in range(120)
    ]
    connector = aiohttp.TCPConnector(socket_factory=_tiny_receive_buffer)
    async with aiohttp.ClientSession(connector=connector) as session:
        ws = await session.ws_connect(
            client.make_url("/v1/stream"), headers=auth("fra.cell"), max_msg_size=0
        )
        # A constrained path: a fixed small send buffer on the gateway's side of this socket
        # (Linux would otherwise grow it to megabytes on loopback).
        for handler in client.server.runner.server.connections:
            sock = handler.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        async with router_stand_in(gateway_settings, gateway_desks) as router:
            for start in range(0, len(backlog), 40):
                await router.deliver("fra.cell", backlog[start : start + 40])
        # Read nothing until the gateway has given up on this client.
        async with asyncio.timeout(60):
            while True:
                if state.streams.slow_disconnects._value.get() >= 1:
                    break
                await asyncio.sleep(0.1)
        assert state.streams.queue_high_water <= settings.ws_send_queue
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(30):
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                frames.append(message.json())
        closing = frames[-1]
        assert closing["type"] == "closing"
        assert closing["reason"] == "slow_consumer"
        received = frames[:-1]
        assert 0 < len(received) < len(backlog)
        assert closing["cursor"] == received[-1]["cursor"]
        if ws.close_code is not None:
            assert ws.close_code == CLOSE_SLOW_CONSUMER
    metrics = await (await client.get("/metrics")).text()
    assert "cell_gateway_ws_slow_disconnects_total 1.0" in metrics
    # Resuming from the closing cursor delivers the rest, each message once.
    ws = await client.ws_connect(
        "/v1/stream", params={"cursor": closing["cursor"]}, headers=auth("fra.cell")
    )
    rest = await _frames(ws, len(backlog) - len(received))
    await ws.close()
    ids = [f["message"]["message_id"] for f in received + rest]
    assert ids == [str(e.message_id) for e in backlog]


async def test_stream_limits_and_refusals(make_client, make_settings, auth):
    settings = make_settings(ws_max_frame_bytes=1024)
    client = await make_client(settings)
    headers = auth("nld.def")
    assert (await client.get("/v1/stream")).status == 401
    foreign = (await (await client.get("/v1/inbox", headers=auth("ukr.gs"))).json())["cursor"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/stream", params={"cursor": foreign}, headers=headers)
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/stream", params={"cursor": "forged"}, headers=headers)
    assert refused.value.status == 400
    # A frame above the limit closes the socket with 1009 (message too big).
    ws = await client.ws_connect("/v1/stream", headers=headers)
    await ws.send_str("y" * 2048)
    async with asyncio.timeout(10):
        message = await ws.receive()
    assert message.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
    assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    # Per-desk stream limit: the next upgrade is refused with 429 and Retry-After.
    streams = [
        await client.ws_connect("/v1/stream", headers=headers) for _ in range(STREAMS_PER_DESK)
    ]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/stream", headers=headers)
    assert refused.value.status == 429
    assert refused.value.headers is not None
    assert "Retry-After" in refused.value.headers
    metrics = await (await client.get("/metrics")).text()
    assert "cell_gateway_connected_desks 1.0" in metrics
    assert f"cell_gateway_ws_sessions {float(STREAMS_PER_DESK)}" in metrics
    # Other desks are not affected by one desk's streams.
    other = await client.ws_connect("/v1/stream", headers=auth("cell.watch"))
    for ws in [*streams, other]:
        await ws.close()


async def test_total_connection_limit_refuses_the_upgrade(make_client, make_settings, auth):
    client = await make_client(make_settings(max_connections=2))
    first = await client.ws_connect("/v1/stream", headers=auth("ukr.gs"))
    second = await client.ws_connect("/v1/stream", headers=auth("fra.cell"))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/stream", headers=auth("nld.def"))
    assert refused.value.status == 503
    for ws in (first, second):
        await ws.close()
