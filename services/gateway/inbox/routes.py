"""HTTP routes of the receive half: inbox long-poll, message status, receipts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import msgspec
from aiohttp import web

from schemas import codec
from schemas.audit import AuditRecord, Decision
from schemas.desks import Desk
from schemas.envelope import Envelope
from schemas.kinds.notifications import AckResponse, OperationalAck, ReadReceipt
from schemas.precedence import Precedence
from services.gateway import keys
from services.gateway.inbox.cursor import Cursor
from services.gateway.inbox.lanes import InboxRecord, cursors_along
from services.gateway.inbox.models import (
    AckRequest,
    InboxMessage,
    InboxPage,
    MessageStatus,
    ReadRequest,
    ReceiptAccepted,
)
from services.gateway.inbox.state import (
    INBOX_DEFAULT_LIMIT,
    INBOX_MAX_LIMIT,
    STATE,
    InboxState,
)
from services.gateway.problems import Problem
from services.gateway.submit import LIMITER
from services.runtime.errors import CellError, Conflict, InvalidInput
from services.runtime.logging import get_logger

log = get_logger(__name__)

_ENCODER = msgspec.json.Encoder()
# Receipt ids are derived from (kind, desk, message[, response]): a retried POST repeats the
# id and the router delivers it once.
_RECEIPT_NAMESPACE = uuid.UUID("6f1d3c1e-8a4b-5c0e-9d2f-1a7b3e5c9d40")
_SUBJECT_MAX = 200
_TRACEPARENT = re.compile(codec.TRACEPARENT_PATTERN)


def _json(body: msgspec.Struct, status: int = 200) -> web.Response:
    return web.Response(body=_ENCODER.encode(body), status=status, content_type="application/json")


def _not_found(message_id: object) -> Problem:
    # The same answer whether the message does not exist or the desk is no party to it.
    return Problem(404, "not_found", f"no message {message_id} visible to this desk")


def cursor_param(request: web.Request, state: InboxState, desk: Desk) -> Cursor:
    token = request.query.get("cursor")
    if not token:
        return Cursor.start(desk.id)
    return state.cursors.decode(token, desk=desk.id)


def _number(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"`{name}` must be a number", field_path=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"`{name}` must be between {low:g} and {high:g}", field_path=name)
    return value


def page_items(
    state: InboxState, cursor: Cursor, records: list[InboxRecord]
) -> tuple[InboxMessage, ...]:
    return tuple(
        InboxMessage(
            cursor=state.cursors.encode(after),
            lane=record.lane,
            offset=record.offset,
            message=msgspec.Raw(record.value),
        )
        for record, after in zip(records, cursors_along(cursor, records), strict=True)
    )


async def get_inbox(request: web.Request) -> web.Response:
    state = request.app[STATE]
    desk = keys.desk_of(request)
    cursor = cursor_param(request, state, desk)
    limit = int(_number(request, "limit", INBOX_DEFAULT_LIMIT, 1, INBOX_MAX_LIMIT))
    # Longer waits than the gateway allows are capped, not refused: the client just polls.
    wait_s = min(_number(request, "wait", 0.0, 0.0, float("inf")), state.settings.inbox_max_wait_s)
    records, after = await state.reader.wait_read(desk, cursor, limit, wait_s)
    return _json(
        InboxPage(messages=page_items(state, cursor, records), cursor=state.cursors.encode(after))
    )


def _message_id(request: web.Request) -> uuid.UUID:
    raw = request.match_info["message_id"]
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise _not_found(raw) from None


async def get_status(request: web.Request) -> web.Response:
    state = request.app[STATE]
    desk = keys.desk_of(request)
    message_id = _message_id(request)
    request[keys.MESSAGE_ID] = str(message_id)
    records = state.audit.visible(message_id, desk.id)
    if not records:
        raise _not_found(message_id)
    status = MessageStatus(
        message_id=message_id, originator=records[0].originator, records=tuple(records)
    )
    return _json(status)


async def _received(request: web.Request, state: InboxState, desk: Desk) -> Envelope:
    """The copy of the message this desk received, or 404 when it received none."""
    message_id = _message_id(request)
    request[keys.MESSAGE_ID] = str(message_id)
    delivery = state.audit.delivery_to(message_id, desk.id)
    if delivery is None or delivery.inbox_topic is None:
        raise _not_found(message_id)
    lane = next(
        (lane for lane in Cursor.LANES if state.store.topic(desk, lane) == delivery.inbox_topic),
        None,
    )
    if lane is None:  # an audit record pointing outside this desk's inbox
        raise _not_found(message_id)
    if delivery.offset is not None:
        records = state.store.since(delivery.inbox_topic, delivery.offset, 1)
        if records is None:
            records = await state.pool.read(delivery.inbox_topic, lane, delivery.offset, 1)
        copy = records[0] if records and records[0].offset == delivery.offset else None
    else:
        copy = await _find_copy(state, delivery, lane)
    if copy is None:
        raise _not_found(message_id)  # past retention, or not the record the audit names
    envelope = codec.decode(copy.value)
    if envelope.message_id != message_id:
        raise _not_found(message_id)
    return envelope


# The router writes its DELIVERED audit record in the same transaction as the inbox copy, so
# the record cannot name the copy's offset; the copy is stamped just after the decision time
# (`at`). Look it up from there, a little earlier for clock granularity, within a bound.
_FIND_MARGIN_MS = 5_000
_FIND_SCAN_LIMIT = 2_000
_FIND_BATCH = 200


async def _find_copy(
    state: InboxState, delivery: AuditRecord, lane: Precedence
) -> InboxRecord | None:
    assert delivery.inbox_topic is not None
    needle = str(delivery.message_id).encode()
    since_ms = int(delivery.at.timestamp() * 1000) - _FIND_MARGIN_MS
    start = await state.pool.offset_at(delivery.inbox_topic, since_ms)
    scanned = 0
    while start is not None and scanned < _FIND_SCAN_LIMIT:
        batch = await state.pool.read(delivery.inbox_topic, lane, start, _FIND_BATCH)
        for record in batch:
            # A cheap byte test first; the caller decodes and checks the id of the match.
            if (
                needle in record.value
                and codec.decode(record.value).message_id == delivery.message_id
            ):
                return record
        if not batch:
            return None
        scanned += len(batch)
        start = batch[-1].offset + 1
    return None


async def _body(request: web.Request, kind: type[msgspec.Struct]) -> msgspec.Struct | None:
    data = await request.read()
    if not data.strip():
        return None
    if request.content_type != "application/json":
        raise Problem(415, "unsupported_media_type", "the body must be application/json")
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:
        error = codec.DecodeError.from_msgspec(exc)
        raise InvalidInput(error.message, field_path=error.path) from None
    except msgspec.DecodeError:
        raise Problem(400, "bad_request", "the body is not valid JSON") from None


def _reply(
    original: Envelope, desk: Desk, body: ReadReceipt | OperationalAck, key: str, now: datetime
) -> Envelope:
    prefix = "READ" if isinstance(body, ReadReceipt) else f"ACK {body.response.value}"
    return Envelope(
        message_id=uuid.uuid5(_RECEIPT_NAMESPACE, key),
        traffic_type=original.traffic_type,
        originator=desk.id,
        action_to=(original.originator,),
        primary_precedence=original.primary_precedence,
        copy_precedence=original.primary_precedence,
        label=original.label,  # never lower than the message it is about (DOMAIN §4)
        subject=f"{prefix}: {original.subject}"[:_SUBJECT_MAX],
        created_at=now,
        released_at=now,
        in_reply_to=original.message_id,
        correlation_id=original.correlation_id,
        body=body,
    )


def _limit(request: web.Request, desk: Desk) -> None:
    """Receipts are messages: they count against the desk's submission rate."""
    wait = request.app[LIMITER].acquire(desk.id, messages=1, nbytes=request.content_length or 0)
    if wait > 0:
        raise Problem(
            429, "rate_limited", f"desk {desk.id} exceeded its submission rate", retry_after_s=wait
        )


async def _publish(request: web.Request, envelope: Envelope, subject: uuid.UUID) -> web.Response:
    incoming = request.headers.get("traceparent", "").strip().lower()
    traceparent = incoming if _TRACEPARENT.fullmatch(incoming) else None
    try:
        published = await request.app[keys.PUBLISHER].publish(envelope, traceparent=traceparent)
    except CellError as exc:
        problem = Problem.from_cell_error(
            exc, retry_after_s=request.app[keys.SETTINGS].retry_after_s
        )
        problem.message_id = str(envelope.message_id)  # the retry repeats it: delivered once
        raise problem from None
    log.info(
        "receipt_published",
        kind=envelope.kind,
        message_id=str(envelope.message_id),
        subject_message_id=str(subject),
        desk=envelope.originator,
    )
    return _json(
        ReceiptAccepted(
            message_id=envelope.message_id,
            subject_message_id=subject,
            dtg=envelope.dtg,
            topic=published.topic,
            partition=published.partition,
            offset=published.offset,
        ),
        status=202,
    )


async def post_read(request: web.Request) -> web.Response:
    state = request.app[STATE]
    desk = keys.desk_of(request)
    _limit(request, desk)
    body = await _body(request, ReadRequest)
    mode = body.mode if isinstance(body, ReadRequest) else ReadRequest().mode
    original = await _received(request, state, desk)
    now = datetime.now(UTC)
    receipt = ReadReceipt(
        subject_message_id=original.message_id, reader=desk.id, mode=mode, read_at=now
    )
    key = f"read:{desk.id}:{original.message_id}"
    return await _publish(request, _reply(original, desk, receipt, key, now), original.message_id)


def _recorded_ack(state: InboxState, message_id: uuid.UUID, desk_id: str) -> str | None:
    """The response of this desk's acknowledgement the audit shows, if any."""
    for record in state.audit.records(message_id):
        if record.decision is Decision.ACKNOWLEDGED and record.recipient == desk_id:
            return record.detail
    return None


async def post_ack(request: web.Request) -> web.Response:
    state = request.app[STATE]
    desk = keys.desk_of(request)
    _limit(request, desk)
    body = await _body(request, AckRequest)
    if not isinstance(body, AckRequest):
        raise InvalidInput("a body with `response` is required", field_path="$.response")
    if body.response is AckResponse.CANNOT_COMPLY and not body.reason.strip():
        raise InvalidInput("is required when the response is CANNOT_COMPLY", field_path="$.reason")
    original = await _received(request, state, desk)
    recorded = _recorded_ack(state, original.message_id, desk.id)
    if recorded is not None and recorded != body.response.value:
        # ACP 121 practice: the acknowledgement is the desk's answer of record; a change of
        # mind is a new message (in_reply_to the original), not a second, contradicting ack.
        raise Conflict(f"this desk already acknowledged the message as {recorded}")
    now = datetime.now(UTC)
    ack = OperationalAck(
        subject_message_id=original.message_id,
        response=body.response,
        reason=body.reason,
        remarks=body.remarks,
        acknowledged_at=now,
    )
    key = f"ack:{desk.id}:{original.message_id}:{body.response.value}"
    return await _publish(request, _reply(original, desk, ack, key, now), original.message_id)
