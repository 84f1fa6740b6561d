"""``GET /v1/stream``: the WebSocket push of a desk's inbox.

Per session three owned tasks: the *pump* reads pending records from the session cursor
(memory window first, catch-up pool when older, highest lane first) and puts them into the
bounded send queue, where a higher lane overtakes queued lower ones; the *writer* takes what
is queued, highest first, makes each JSON text frame with the resume cursor of what is
written up to it, and writes them with one socket write (``wsframes``), then waits for the
client only if the connection's flow control says it is behind;
the *receiver* reads client frames (ignored; larger than ``ws_max_frame_bytes`` closes the
socket with 1009) and notices the close. The pump reads no more than the queue has room
for, so a backlog streams at the client's pace; a client that takes nothing for the stall
deadline while the queue is full is a slow client: the gateway sends a final ``closing``
frame with the cursor after the last frame it wrote and closes with 4008. Frames are
written uncompressed, so a frame handed to the socket is wholly written before the writer
can be cancelled: that last cursor is exact, and resuming from it repeats and skips
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

import msgspec
from aiohttp import ClientConnectionResetError, WSMsgType, web

from schemas.desks import Desk
from services.gateway import keys
from services.gateway.inbox.cursor import Cursor
from services.gateway.inbox.lanes import InboxRecord
from services.gateway.inbox.models import InboxMessage, StreamClosing
from services.gateway.inbox.routes import cursor_param
from services.gateway.inbox.sendqueue import SendQueue, SlowClient
from services.gateway.inbox.state import STATE, InboxState
from services.gateway.inbox.wsframes import text_frame
from services.runtime.errors import BrokerUnavailable
from services.runtime.logging import get_logger

log = get_logger(__name__)

CLOSE_SLOW_CONSUMER = 4008  # private-use range (4000-4999): resume from the closing cursor
CLOSE_GOING_AWAY = 1001  # gateway shutting down
CLOSE_TRY_AGAIN_LATER = 1013  # Kafka unavailable; resume from the closing cursor later
_CLOSE_DEADLINE_S = 2.0
_ENCODER = msgspec.json.Encoder()
_WRITE_BATCH = 64  # frames per socket write (~80 KB of typical messages)


class Session:
    def __init__(
        self,
        state: InboxState,
        desk: Desk,
        cursor: Cursor,
        ws: web.WebSocketResponse,
        request: web.Request,
    ) -> None:
        self.state = state
        self.desk = desk
        self.cursor = cursor  # the pump's position (queued, not necessarily written)
        self.written = cursor  # after the last frame handed to the socket
        self.ws = ws
        # The writer's own path to the socket (``wsframes``): the connection's transport, and
        # its payload writer, whose ``drain`` is aiohttp's flow control for this connection.
        self._transport = request.transport
        self._flow = request.writer
        settings = state.settings
        # Half a heartbeat to take one frame: shorter than the missed-pong close (1.5
        # heartbeats) that a stalled client would hit next, so it gets its resume cursor.
        self.queue: SendQueue[InboxRecord] = SendQueue(
            settings.ws_send_queue, stall_s=settings.ws_heartbeat_s / 2
        )

    async def _pump(self) -> None:
        reader = self.state.reader
        while True:
            signal = self.state.store.signal(self.desk.id)
            room = max(1, self.queue.room)  # full: read one, and let put() judge the client
            records, self.cursor = await reader.read(self.desk, self.cursor, room)
            if not records:
                await signal.wait()
                continue
            for record in records:
                # A higher lane overtakes what is queued; FIFO within a lane.
                await self.queue.put(record, priority=record.lane.rank)

    async def _write(self) -> None:
        cursors = self.state.cursors
        while True:
            records = await self.queue.get_many(_WRITE_BATCH)
            # Each frame's resume cursor is the written one: each lane advanced past the
            # records of it written so far (queued ones of a lower lane stay ahead of it, to
            # be re-read).
            written = self.written
            frames = []
            for record in records:
                written = written.advanced(record.lane, record.offset)
                frame = InboxMessage(
                    cursor=cursors.encode(written),
                    lane=record.lane,
                    offset=record.offset,
                    message=msgspec.Raw(record.value),
                )
                frames.append(text_frame(_ENCODER.encode(frame)))
            transport = self._transport
            # Never after the close frame (``closed`` is set before aiohttp writes it).
            if self.ws.closed or transport is None or transport.is_closing():
                raise ClientConnectionResetError("the stream is closing")
            # Uncompressed and in one call: every frame of the batch is in the transport
            # before the first await below, so ``written`` is exact if the drain is cancelled.
            transport.write(b"".join(frames))
            self.written = written
            await self._flow.drain()  # waits only while the client is behind (transport paused)

    async def _receive(self) -> None:
        async for message in self.ws:
            if message.type is WSMsgType.ERROR:
                log.info("stream_client_error", desk=self.desk.id, error=repr(self.ws.exception()))

    async def run(self) -> str:
        """Serve until the client goes, the gateway stops or the client is too slow."""
        tasks = {
            asyncio.create_task(self._pump(), name=f"ws-pump-{self.desk.id}"),
            asyncio.create_task(self._write(), name=f"ws-write-{self.desk.id}"),
            asyncio.create_task(self._receive(), name=f"ws-receive-{self.desk.id}"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for task in done:
            if task.cancelled():
                continue
            exc = task.exception()
            if isinstance(exc, SlowClient):
                await self.close(CLOSE_SLOW_CONSUMER, "slow_consumer")
                return "slow_consumer"
            if isinstance(exc, BrokerUnavailable):  # a catch-up read found no Kafka in time
                log.warning("stream_broker_unavailable", desk=self.desk.id, error=exc.message)
                await self.close(CLOSE_TRY_AGAIN_LATER, "broker_unavailable")
                return "broker_unavailable"
            if exc is not None:
                log.warning("stream_failed", desk=self.desk.id, error=repr(exc))
                await self.close(1011, "internal_error")
                return "error"
        return "client_closed"

    async def close(self, code: int, reason: str) -> None:
        """Send the closing frame with the resume cursor, then close, within deadlines."""
        if self.ws.closed:
            return
        frame = StreamClosing(reason=reason, cursor=self.state.cursors.encode(self.written))
        # Both frames are written before anything can block on a client that does not read.
        # They run in tasks of their own: aiohttp shares one drain future per connection, and
        # the writer task cancelled while draining has cancelled it; that must not be taken
        # for a cancellation of this handler.
        await _bounded(self.ws.send_frame(_ENCODER.encode(frame), WSMsgType.TEXT))
        # drain=False: the close frame is queued behind the data; the wait for the client's
        # close reply is bounded by the response's own timeout.
        await _bounded(self.ws.close(code=code, message=reason.encode(), drain=False))


async def _bounded(step: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.create_task(step)
    done, _ = await asyncio.wait({task}, timeout=_CLOSE_DEADLINE_S)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=_CLOSE_DEADLINE_S)
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.info("stream_close_step_failed", error=repr(task.exception()))


async def get_stream(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    desk = keys.desk_of(request)
    cursor = cursor_param(request, state, desk)  # 400 / 403 before the upgrade
    sessions = state.streams
    sessions.admit(desk.id)  # 429 / 503 before the upgrade
    try:
        settings = state.settings
        ws = web.WebSocketResponse(
            heartbeat=settings.ws_heartbeat_s,
            max_msg_size=settings.ws_max_frame_bytes,
            compress=False,
            timeout=_CLOSE_DEADLINE_S,
        )
        await ws.prepare(request)
        session = Session(state, desk, cursor, ws, request)
        sessions.closers[id(session)] = lambda: session.close(CLOSE_GOING_AWAY, "shutdown")
        sessions.queues[id(session)] = session.queue
        try:
            outcome = await session.run()
        finally:
            del sessions.closers[id(session)]
            del sessions.queues[id(session)]
        sessions.queue_high_water = max(sessions.queue_high_water, session.queue.high_water)
        if outcome == "slow_consumer":
            sessions.slow_disconnects.inc()
        log.info(
            "stream_closed",
            desk=desk.id,
            outcome=outcome,
            queue_high_water=session.queue.high_water,
            close_code=ws.close_code,
        )
        return ws
    finally:
        sessions.release(desk.id)
