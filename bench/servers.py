"""``python -m bench.servers KIND PORT BOOTSTRAP TOPIC``: the HTTP baselines of the gateway.

- ``bare``: reads the body and answers 202 with a small JSON document; no Kafka.
- ``minimal``: decodes the body (msgspec, our ``Submission`` type) and awaits one aiokafka
  send (our producer settings) of the received bytes, then answers 202 with the offset.
- ``ws``: ``GET /ws`` holds WebSocket sessions (uncompressed, as the gateway's);
  ``POST /fanout`` with ``{"frames": [...]}`` sends every frame to every session in a plain
  loop, then answers 200: the fan-out baseline. ``BOOTSTRAP`` and ``TOPIC`` are unused.

Both run on the default asyncio loop with access logs off, as the gateway does.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from schemas.envelope import Submission
from services.runtime import kafka
from services.runtime.settings import CommonSettings

DEADLINE_S = 5.0
_DECODER = msgspec.json.Decoder(Submission)
_ENCODER = msgspec.json.Encoder()
PRODUCER: web.AppKey[Any] = web.AppKey("producer", object)
TOPIC = web.AppKey("topic", str)
SESSIONS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sessions")
KEY = b"usa.eucom"  # the gateway keys by originator: one desk, one key, as in its arm


async def bare(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(
        status=202,
        body=_ENCODER.encode({"partition": 0, "offset": 0}),
        content_type="application/json",
    )


async def minimal(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise web.HTTPUnprocessableEntity(text=str(exc)) from None
    future = await request.app[PRODUCER].send(request.app[TOPIC], value=body, key=KEY)
    meta = await asyncio.wait_for(future, DEADLINE_S)
    return web.Response(
        status=202,
        body=_ENCODER.encode({"partition": meta.partition, "offset": meta.offset}),
        content_type="application/json",
    )


async def ws(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(compress=False, heartbeat=20.0)
    await socket.prepare(request)
    request.app[SESSIONS].add(socket)
    try:
        async for _ in socket:
            pass
    finally:
        request.app[SESSIONS].discard(socket)
    return socket


class _Fanout(msgspec.Struct, frozen=True):
    frames: list[str]


async def fanout(request: web.Request) -> web.Response:
    frames = [f.encode() for f in msgspec.json.decode(await request.read(), type=_Fanout).frames]
    active: set[web.WebSocketResponse] = request.app[SESSIONS]
    sessions = list(active)
    for frame in frames:
        for socket in sessions:
            await socket.send_frame(frame, WSMsgType.TEXT)
    return web.Response(status=200)


async def serve(kind: str, port: int, bootstrap: str, topic: str) -> None:
    app = web.Application()
    app[TOPIC] = topic
    app[SESSIONS] = set()
    if kind == "ws":
        app.router.add_get("/ws", ws)
        app.router.add_post("/fanout", fanout)
    elif kind == "minimal":
        producer = kafka.producer(CommonSettings(kafka_bootstrap=bootstrap), client_id="minimal")
        await asyncio.wait_for(producer.start(), 30.0)
        app[PRODUCER] = producer
        app.router.add_post("/v1/messages", minimal)
    else:
        app.router.add_post("/v1/messages", bare)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
    finally:
        await runner.cleanup()
        if kind == "minimal":
            await asyncio.wait_for(app[PRODUCER].stop(), 30.0)


def main() -> int:
    kind, port, bootstrap, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    asyncio.run(serve(kind, port, bootstrap, topic))
    return 0


if __name__ == "__main__":
    sys.exit(main())
