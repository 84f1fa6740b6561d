"""Submitting traffic: ``POST /v1/messages`` and ``POST /v1/messages:batch``.

The originator is always the authenticated desk: a body carrying ``originator`` is refused
as an unknown field. A 202 is sent only after Kafka acknowledged the record (acks=all,
idempotent producer), with its topic, partition and offset. ``message_id`` is the
idempotency key: a client that did not get an answer retries with the same id; the gateway
forwards it again and the router delivers (originator, message id) once.

Admission control (``admission.py``) comes first, before the body is decoded: past the
gateway's limit of submissions in flight for their precedence, a submission is refused at
once with 503 ``overloaded`` and Retry-After, and nothing of it reaches Kafka. Only the
claimed ``primary_precedence`` is read to decide (a one-field decode, and only when the
limit is near); FLASH claimed by a desk without the FLASH role counts as ROUTINE.

Batch status: 202 when every item was accepted; 503 (problem, Retry-After) when none was
and Kafka was unavailable for at least one or the gateway shed at least one, so the whole
batch can be retried as is; 207 otherwise, with a result per item, in order (202 with the
position, or a problem). A batch's items are admitted one each, highest precedence first.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta, Struct

from schemas import codec
from schemas.codec import DecodeError, MalformedJson
from schemas.desks import Desk
from schemas.envelope import Envelope, Submission, seal
from schemas.precedence import Precedence
from schemas.roles import Role
from services.gateway import keys
from services.gateway.admission import Admission, claimed_in, overloaded
from services.gateway.limits import DeskLimiter
from services.gateway.openapi import JSON, Operation, Parameter, Response, route
from services.gateway.problems import FieldError, Problem, ProblemDocument
from services.gateway.publisher import Published
from services.runtime.errors import BrokerUnavailable, CellError
from services.runtime.logging import get_logger

log = get_logger(__name__)

_ENCODER = msgspec.json.Encoder()
_TRACEPARENT = re.compile(codec.TRACEPARENT_PATTERN)
LIMITER: web.AppKey[DeskLimiter] = web.AppKey("limiter", DeskLimiter)
ADMISSION: web.AppKey[Admission] = web.AppKey("admission", Admission)


class Accepted(Struct, frozen=True, kw_only=True):
    """The broker acknowledged the message: it is durable on its submit lane."""

    message_id: uuid.UUID
    dtg: Annotated[str, Meta(description="Date-time group of release, e.g. `141312Z MAR 2026`")]
    released_at: datetime
    precedence: Precedence
    topic: str
    partition: int
    offset: int


class BatchRequest(Struct, frozen=True, kw_only=True):
    submissions: Annotated[tuple[Submission, ...], Meta(min_length=1)]


class BatchItem(Struct, frozen=True, kw_only=True, omit_defaults=True):
    index: int
    status: Annotated[int, Meta(description="202, or the status of `problem`")]
    accepted: Accepted | None = None
    problem: ProblemDocument | None = None


class BatchResult(Struct, frozen=True, kw_only=True):
    accepted: int
    failed: int
    results: tuple[BatchItem, ...]


# --- request parsing ----------------------------------------------------------------------


def _require_json(request: web.Request) -> None:
    if request.content_type != JSON:
        raise Problem(415, "unsupported_media_type", "Content-Type must be application/json")


async def _read_body(request: web.Request) -> bytes:
    limit = request.app[keys.SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, "payload_too_large", f"the body exceeds {limit} bytes")
    return await request.read()  # aiohttp enforces client_max_size while reading


class _BatchBody(Struct, frozen=True, forbid_unknown_fields=True):
    """A batch POST read in one pass; each item is decoded strictly on its own (its errors
    name its position) and only if admitted."""

    submissions: list[msgspec.Raw]


_BATCH = msgspec.json.Decoder(_BatchBody)


def _batch_items(body: bytes) -> list[msgspec.Raw]:
    try:
        return _BATCH.decode(body).submissions
    except msgspec.ValidationError:
        raise Problem(
            422,
            "invalid_input",
            "the body must be an object with exactly one field, `submissions` (a list)",
            errors=(FieldError(path="$.submissions", message="required list"),),
        ) from None
    except msgspec.DecodeError as exc:
        raise Problem(400, "malformed_json", f"the body is not JSON: {exc}") from None


def _submission(data: bytes | msgspec.Raw, path: str = "$") -> Submission:
    """Strictly typed submission in one pass: unknown fields refused, errors with a path."""
    try:
        return codec.decode_submission_strict(data)
    except MalformedJson as exc:
        raise Problem(400, "malformed_json", f"the body is not JSON: {exc.message}") from None
    except DecodeError as exc:
        where = path + exc.path.removeprefix("$")
        raise Problem(
            422,
            "invalid_input",
            "the submission is not valid",
            errors=(FieldError(path=where, message=exc.message),),
        ) from None


def _authorise(desk: Desk, submission: Submission, path: str = "$") -> None:
    """Edge checks that need only the desk: the router re-checks everything it routes."""
    if submission.primary_precedence is Precedence.FLASH and not desk.has_role(Role.FLASH):
        raise Problem(
            403,
            "flash_not_permitted",
            f"desk {desk.id} may not originate FLASH",
            errors=(FieldError(path=f"{path}.primary_precedence", message="requires FLASH"),),
        )
    # A desk originates only the traffic it may receive (DOMAIN §4 rule 2): refused here,
    # the router would otherwise turn it into a non-delivery report per addressee.
    traffic = submission.traffic_type
    if desk.accepts(traffic):
        return
    where = f"{path}.traffic_type"
    if desk.exercise_only:
        raise Problem(
            403,
            "exercise_only",
            f"desk {desk.id} is an exercise desk: it may send EXERCISE or DRILL traffic only",
            errors=(FieldError(path=where, message=f"{traffic.value} not permitted"),),
        )
    raise Problem(
        403,
        "exercise_not_permitted",
        f"desk {desk.id} does not take part in exercises: it may send OPERATION traffic only",
        errors=(FieldError(path=where, message=f"{traffic.value} not permitted"),),
    )


def _seal(submission: Submission, desk: Desk, now: datetime, path: str = "$") -> Envelope:
    try:
        return seal(submission, desk.id, now)
    except ValueError as exc:
        raise Problem(
            422,
            "invalid_input",
            "the submission is not valid once released",
            errors=(FieldError(path=path, message=str(exc)),),
        ) from None


async def _publish_items(
    request: web.Request,
    desk: Desk,
    items: list[msgspec.Raw],
    admitted: list[bool],
    claims: list[Precedence],
) -> tuple[list[BatchItem | None], Precedence | None, bool]:
    """Decode, check, seal and publish the admitted items of a batch.

    Returns the result per item, the highest precedence shed (None if none was) and
    whether Kafka was unavailable for at least one item.
    """
    now = datetime.now(UTC)
    request_id = str(request.get(keys.REQUEST_ID, ""))
    results: list[BatchItem | None] = [None] * len(items)
    envelopes: list[tuple[int, Envelope]] = []
    shed: Precedence | None = None
    for index, item in enumerate(items):
        if not admitted[index]:
            claim = claims[index]
            if shed is None or claim.rank > shed.rank:
                shed = claim
            refused = overloaded(request, claim)
            results[index] = BatchItem(
                index=index, status=503, problem=refused.document(request_id)
            )
            continue
        path = f"$.submissions[{index}]"
        try:
            submission = _submission(item, path)
            _authorise(desk, submission, path)
            envelopes.append((index, _seal(submission, desk, now, path)))
        except Problem as refused:
            results[index] = BatchItem(
                index=index, status=refused.status, problem=refused.document(request_id)
            )
    if not envelopes:  # all shed or refused: answered at once, nothing sent
        return results, shed, False
    published = await request.app[keys.PUBLISHER].publish_many(
        [envelope for _, envelope in envelopes], traceparent=_traceparent(request)
    )
    broker_down = False
    for (index, envelope), outcome in zip(envelopes, published, strict=True):
        if isinstance(outcome, Published):
            results[index] = BatchItem(
                index=index, status=202, accepted=_accepted(envelope, outcome)
            )
        else:
            broker_down |= isinstance(outcome, BrokerUnavailable)
            problem = _unavailable(request, outcome, envelope.message_id)
            results[index] = BatchItem(
                index=index, status=problem.status, problem=problem.document(request_id)
            )
    return results, shed, broker_down


def _traceparent(request: web.Request) -> str:
    """Continue the caller's trace with a new span of ours, or start one."""
    incoming = request.headers.get("traceparent", "").strip().lower()
    span = secrets.token_hex(8)
    if _TRACEPARENT.fullmatch(incoming) and incoming[3:35] != "0" * 32:
        return f"00-{incoming[3:35]}-{span}-{incoming[-2:]}"
    return f"00-{secrets.token_hex(16)}-{span}-01"


def _limit(request: web.Request, desk: Desk, *, messages: int, nbytes: int) -> None:
    wait = request.app[LIMITER].acquire(desk.id, messages=messages, nbytes=nbytes)
    if wait > 0:
        raise Problem(
            429,
            "rate_limited",
            f"desk {desk.id} exceeded its submission rate; retry later",
            retry_after_s=wait,
        )


def _accepted(envelope: Envelope, published: Published) -> Accepted:
    return Accepted(
        message_id=envelope.message_id,
        dtg=envelope.dtg,
        released_at=envelope.released_at,
        precedence=envelope.primary_precedence,
        topic=published.topic,
        partition=published.partition,
        offset=published.offset,
    )


def _unavailable(request: web.Request, exc: CellError, message_id: uuid.UUID) -> Problem:
    retry = request.app[keys.SETTINGS].retry_after_s
    problem = Problem.from_cell_error(exc, retry_after_s=retry)
    problem.message_id = str(message_id)  # retry with this id: delivered once either way
    return problem


# --- handlers -------------------------------------------------------------------------------


async def post_message(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    _require_json(request)
    body = await _read_body(request)
    admission = request.app[ADMISSION]
    # Below the lowest ceiling every precedence is admitted: no need to read the claim.
    precedence = claimed_in(desk, body) if admission.pressed else Precedence.ROUTINE
    if not admission.admit(precedence):
        raise overloaded(request, precedence)
    try:
        return await _publish_one(request, desk, body)
    finally:
        admission.release()


async def _publish_one(request: web.Request, desk: Desk, body: bytes) -> web.Response:
    _limit(request, desk, messages=1, nbytes=len(body))
    submission = _submission(body)
    _authorise(desk, submission)
    envelope = _seal(submission, desk, datetime.now(UTC))
    request[keys.MESSAGE_ID] = str(envelope.message_id)
    traceparent = _traceparent(request)
    try:
        published = await request.app[keys.PUBLISHER].publish(envelope, traceparent=traceparent)
    except CellError as exc:
        raise _unavailable(request, exc, envelope.message_id) from None
    return web.Response(
        status=202,
        body=_ENCODER.encode(_accepted(envelope, published)),
        content_type=JSON,
        headers={"Location": f"/v1/messages/{envelope.message_id}", "traceparent": traceparent},
    )


async def post_batch(request: web.Request) -> web.Response:
    desk = keys.desk_of(request)
    settings = request.app[keys.SETTINGS]
    _require_json(request)
    body = await _read_body(request)
    items = _batch_items(body)
    if not items:
        raise Problem(422, "invalid_input", "`submissions` is empty")
    if len(items) > settings.max_batch:
        raise Problem(
            413, "batch_too_large", f"a batch holds at most {settings.max_batch} submissions"
        )
    _limit(request, desk, messages=len(items), nbytes=len(body))
    admission = request.app[ADMISSION]
    # A batch that fits below the lowest ceiling is admitted whole whatever it claims:
    # only past it are the items' claims read (a one-field decode each).
    if admission.in_flight + len(items) <= admission.ceiling(Precedence.ROUTINE):
        claims = [Precedence.ROUTINE] * len(items)
    else:
        claims = [claimed_in(desk, item) for item in items]
    admitted = admission.admit_each(claims)
    held = admitted.count(True)
    try:
        results, shed, broker_down = await _publish_items(request, desk, items, admitted, claims)
    finally:
        admission.release(held)
    final = tuple(r for r in results if r is not None)
    accepted = sum(1 for r in final if r.status == 202)  # noqa: PLR2004
    if accepted == 0 and shed is not None:
        raise overloaded(request, shed)
    if accepted == 0 and broker_down:
        raise Problem(
            503,
            "broker_unavailable",
            "Kafka did not acknowledge the batch within the deadline; retry it unchanged",
            retry_after_s=settings.retry_after_s,
        )
    result = BatchResult(accepted=accepted, failed=len(final) - accepted, results=final)
    return web.Response(
        status=202 if accepted == len(final) else 207,
        body=_ENCODER.encode(result),
        content_type=JSON,
    )


_TRACE = Parameter(
    name="traceparent",
    location="header",
    description="W3C Trace Context; continued into the Kafka record headers",
    schema={"type": "string", "pattern": codec.TRACEPARENT_PATTERN},
)


def setup(app: web.Application) -> None:
    settings = app[keys.SETTINGS]
    app[LIMITER] = DeskLimiter(settings)
    app[ADMISSION] = Admission(
        settings.max_in_flight, settings.reserved_in_flight, app[keys.METRICS]
    )
    route(
        app,
        Operation(
            method="POST",
            path="/v1/messages",
            operation_id="submitMessage",
            summary="Submit one message; 202 once Kafka has it",
            description="The originator is the authenticated desk. Repeat `message_id` on "
            "retry: the same id is accepted again and delivered once.",
            tags=("submit",),
            request=Submission,
            parameters=(_TRACE,),
            responses=(
                Response(
                    status=202,
                    description="Durable on its submit lane",
                    type=Accepted,
                    headers={"Location": "Status of the message", "traceparent": "Trace"},
                ),
            ),
            problems=(400, 403, 413, 415, 422, 429, 503),
        ),
        post_message,
    )
    route(
        app,
        Operation(
            method="POST",
            path="/v1/messages:batch",
            operation_id="submitBatch",
            summary="Submit up to the configured number of messages, with a result per item",
            description="202 when all were accepted; 207 with per-item results otherwise; "
            "503 when none was accepted because Kafka was unavailable.",
            tags=("submit",),
            request=BatchRequest,
            parameters=(_TRACE,),
            responses=(
                Response(status=202, description="All accepted", type=BatchResult),
                Response(status=207, description="Per-item results", type=BatchResult),
            ),
            problems=(400, 413, 415, 422, 429, 503),
        ),
        post_batch,
    )
