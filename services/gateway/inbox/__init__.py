"""Receiving side of the gateway: inbox long-poll, WebSocket stream, receipts, status.

Design (one gateway process; any number run side by side, cursors live with the clients):

- **Inbox model.** Each desk has four single-partition inbox topics, one per lane
  (``schemas.topics.inbox_topic``), written transactionally by the router and read here
  ``read_committed``. A cursor (``cursor.py``) is the next offset of each lane plus the desk
  id, HMAC-signed: another desk's cursor is refused with 403, a forged or damaged one with
  400. No cursor means the start of the retained inbox (each lane's log start).
- **No consumer per request.** One *tailing consumer* (``tail.py``) per process is manually
  assigned to every registry desk's inbox partitions and keeps the most recent records of
  each lane in a bounded in-memory window (``store.py``: 256 records / 1 MiB per lane),
  waking the desks that got new records. Reads from a cursor inside the window are answered
  from memory; older cursors borrow one of a fixed *catch-up pool* of consumers
  (``fetch.py``, 2 per process) for a short seek-and-read. Both sources hold only committed
  records in offset order, so they agree.
- **Delivery order.** ``lanes.merge`` hands out every pending FLASH before any IMMEDIATE
  before PRIORITY before ROUTINE, FIFO within a lane, and drops anything below the cursor,
  so resuming from any cursor a desk was given repeats nothing and skips nothing.
- **Long-poll** (``GET /v1/inbox``) reads; when nothing is pending it waits on the desk's
  signal up to ``wait`` seconds (capped at ``inbox_max_wait_s``).
- **Stream** (``GET /v1/stream``, ``stream.py``): authenticated on the upgrade by the
  ``Authorization: Bearer`` header (or the client certificate) like every route; there is
  deliberately no ``?access_token=``: query strings end up in proxy and access logs. A
  bounded send queue per connection (``ws_send_queue`` frames) and a stall deadline: a slow
  client is closed with code 4008 after a ``closing`` frame carrying its resume cursor.
  At most ``STREAMS_PER_DESK`` streams per desk (else 429) and ``max_connections`` open
  requests in total (the access middleware, else 503), both refused before the upgrade;
  client frames above ``ws_max_frame_bytes`` close the socket with 1009.
- **Status** (``GET /v1/messages/{id}``): one background reader materialises the audit
  topic into a bounded view (``audit.py``: 7 days, 50,000 messages); the originator sees
  every record of its message, a recipient it was delivered to its own, anyone else
  (including a desk it was refused to) 404.
- **Receipts** (``POST /v1/messages/{id}/read`` and ``/ack``): only a desk the audit shows
  the message DELIVERED to, and whose inbox still holds that copy (404 otherwise). The
  receipt is a sealed Envelope to the original originator with the original label,
  published through the submit half's ``Publisher`` like any submission.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from services.gateway import keys
from services.gateway.inbox import routes, stream
from services.gateway.inbox.audit import run_audit_reader
from services.gateway.inbox.models import (
    AckRequest,
    InboxPage,
    MessageStatus,
    ReadRequest,
    ReceiptAccepted,
)
from services.gateway.inbox.state import INBOX_MAX_LIMIT, STATE, InboxState
from services.gateway.inbox.tail import run_tail
from services.gateway.openapi import Operation, Parameter, Response, route
from services.runtime.logging import get_logger

log = get_logger(__name__)

__all__ = ["STATE", "InboxState", "setup"]

_TAG = ("receive",)
_MESSAGE_ID = Parameter(
    name="message_id",
    location="path",
    description="The message's id (UUID)",
    schema={"type": "string", "format": "uuid"},
)
_CURSOR = Parameter(
    name="cursor",
    location="query",
    description="Resume point from an earlier response or frame; omit to start at the "
    "oldest retained message",
    schema={"type": "string"},
)


async def _readers(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    state.tail_ready = asyncio.Event()
    tasks = {
        asyncio.create_task(
            run_tail(state.settings, state.store, state.tail_ready), name="inbox-tail"
        ),
        asyncio.create_task(run_audit_reader(state.settings, state.audit), name="audit-view"),
    }
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        # Bounded: each reader stops its client within its own deadline after the cancel.
        _, stuck = await asyncio.wait(tasks, timeout=3 * state.settings.kafka_timeout_s)
        for task in stuck:
            log.error("reader_did_not_stop", task=task.get_name())
        for task in tasks - stuck:
            if not task.cancelled() and task.exception() is not None:
                log.error("reader_failed", task=task.get_name(), exc_info=task.exception())
        await state.pool.aclose()


async def _close_streams(app: web.Application) -> None:
    # Before the readers stop: each client gets a closing frame with its resume cursor.
    sessions = list(app[STATE].streams.closers.values())
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5.0):
            await asyncio.gather(*(close() for close in sessions), return_exceptions=True)


def setup(app: web.Application) -> None:
    """Register the receiving routes and their background readers on the app."""
    app[STATE] = InboxState(app[keys.SETTINGS], app[keys.REGISTRY], app[keys.METRICS])
    app.cleanup_ctx.append(_readers)
    app.on_shutdown.append(_close_streams)
    route(
        app,
        Operation(
            method="GET",
            path="/v1/inbox",
            operation_id="readInbox",
            summary="Read pending messages, highest precedence first; long-poll when empty",
            description="Returns up to `limit` pending messages: every pending FLASH before "
            "IMMEDIATE before PRIORITY before ROUTINE, FIFO within a precedence. Each "
            "message carries the cursor that resumes right after it; `cursor` resumes after "
            "the last. A desk reads only its own inbox.",
            tags=_TAG,
            parameters=(
                _CURSOR,
                Parameter(
                    name="limit",
                    location="query",
                    description="Most messages to return",
                    schema={"type": "integer", "minimum": 1, "maximum": INBOX_MAX_LIMIT},
                ),
                Parameter(
                    name="wait",
                    location="query",
                    description="Seconds to wait when nothing is pending (capped by the "
                    "gateway's inbox_max_wait_s)",
                    schema={"type": "number", "minimum": 0},
                ),
            ),
            responses=(Response(status=200, description="Pending messages", type=InboxPage),),
            problems=(400, 403, 422, 503),
        ),
        routes.get_inbox,
    )
    route(
        app,
        Operation(
            method="GET",
            path="/v1/stream",
            operation_id="streamInbox",
            summary="WebSocket push of the inbox, highest precedence first",
            description="Upgrade to a WebSocket. Each text frame is a JSON `InboxMessage` "
            "(`type: message`) with the cursor resuming after it; a final `StreamClosing` "
            "frame (`type: closing`) carries the resume cursor when the gateway closes the "
            "stream: code 4008 for a client that let its send queue fill, 1001 at shutdown, "
            "1013 when Kafka is unavailable. "
            "Client frames larger than the limit close the socket with 1009. Limits: "
            "per-desk streams (429) and total streams (503), checked before the upgrade.",
            tags=_TAG,
            parameters=(_CURSOR,),
            responses=(Response(status=101, description="Switching to the WebSocket protocol"),),
            problems=(400, 403, 429, 503),
        ),
        stream.get_stream,
    )
    route(
        app,
        Operation(
            method="GET",
            path="/v1/messages/{message_id}",
            operation_id="messageStatus",
            summary="Delivery and receipt state of a message, for its parties only",
            description="The originator sees every audit record of its message; a recipient "
            "only the records naming it. Anyone else, and any message outside the "
            "gateway's status window (7 days), gets 404.",
            tags=_TAG,
            parameters=(_MESSAGE_ID,),
            responses=(Response(status=200, description="Visible records", type=MessageStatus),),
            problems=(404,),
        ),
        routes.get_status,
    )
    for path, operation_id, summary, request, handler in (
        (
            "/v1/messages/{message_id}/read",
            "postReadReceipt",
            "Post a read receipt for a message this desk received",
            ReadRequest,
            routes.post_read,
        ),
        (
            "/v1/messages/{message_id}/ack",
            "postOperationalAck",
            (
                "Acknowledge a message this desk received (ACKNOWLEDGED / WILL_COMPLY / "
                "CANNOT_COMPLY with a reason)"
            ),
            AckRequest,
            routes.post_ack,
        ),
    ):
        route(
            app,
            Operation(
                method="POST",
                path=path,
                operation_id=operation_id,
                summary=summary,
                description="Sent as a message to the original originator with the original "
                "label, through the submit lanes; 202 once Kafka has it. 404 when this desk "
                "did not receive the message. Retrying repeats the receipt's id: it is "
                "delivered once. An operational acknowledgement is final: a different "
                "response after one the cell has recorded is 409 (send a new message instead).",
                tags=_TAG,
                request=request,
                parameters=(_MESSAGE_ID,),
                responses=(
                    Response(status=202, description="Durable on its lane", type=ReceiptAccepted),
                ),
                problems=(400, 404, 409, 415, 422, 429, 503),
            ),
            handler,
        )
