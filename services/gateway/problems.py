"""RFC 9457 problem details: the one error shape of the gateway.

Handlers raise ``Problem`` (or a ``CellError`` / aiohttp ``HTTPException``); the gateway's
middleware (``access``) renders every one with ``rendered`` as ``application/problem+json``
with a stable ``code`` clients key on, the field ``path`` of each validation error, and the
request id to quote to an operator. Unknown exceptions become a 500 whose detail reveals
nothing; every known condition has its own status, so a 500 always means a bug.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta, Struct

from services.gateway import keys
from services.runtime.errors import CellError
from services.runtime.logging import get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:paris-cell:problem:"
_ENCODER = msgspec.json.Encoder()


class FieldError(Struct, frozen=True, kw_only=True):
    path: Annotated[str, Meta(description="JSONPath-like location, e.g. `$.label.releasable_to`")]
    message: str


class ProblemDocument(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details, with a stable ``code`` and the request id."""

    type: Annotated[str, Meta(description="URN naming the problem type; ends with `code`")]
    title: str
    status: int
    detail: str
    code: Annotated[str, Meta(description="Stable machine-readable code, e.g. `rate_limited`")]
    errors: tuple[FieldError, ...] = ()
    request_id: str = ""
    retry_after_s: int | None = None
    message_id: str | None = None


class Problem(Exception):
    """An HTTP problem a handler raises; the middleware renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: tuple[FieldError, ...] = (),
        retry_after_s: float | None = None,
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.retry_after_s = None if retry_after_s is None else max(1, math.ceil(retry_after_s))
        self.headers = dict(headers or {})
        self.message_id = message_id

    @classmethod
    def from_cell_error(cls, exc: CellError, *, retry_after_s: float | None = None) -> Problem:
        errors: tuple[FieldError, ...] = ()
        if exc.field_path is not None:
            errors = (FieldError(path=exc.field_path, message=exc.message),)
        return cls(
            exc.status,
            exc.code,
            exc.message,
            errors=errors,
            retry_after_s=retry_after_s if exc.retriable else None,
        )

    def document(self, request_id: str) -> ProblemDocument:
        return ProblemDocument(
            type=TYPE_PREFIX + self.code,
            title=_title(self.status),
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=self.errors,
            request_id=request_id,
            retry_after_s=self.retry_after_s,
            message_id=self.message_id,
        )

    def response(self, request_id: str) -> web.Response:
        headers = dict(self.headers)
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        return web.Response(
            status=self.status,
            body=_ENCODER.encode(self.document(request_id)),
            content_type=PROBLEM_JSON,
            headers=headers,
        )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# aiohttp's own exceptions (routing, body size) mapped to stable codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    431: "header_too_large",
    503: "unavailable",
}


def from_http_exception(exc: web.HTTPException) -> Problem:
    detail = exc.text or exc.reason
    if exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        detail = "the request body exceeds the gateway's limit"
    headers = {k: v for k, v in exc.headers.items() if k in {"Allow", "WWW-Authenticate"}}
    return Problem(exc.status, _HTTP_CODES.get(exc.status, "http_error"), detail, headers=headers)


def rendered(request: web.Request, exc: Exception, request_id: str) -> tuple[web.Response, str]:
    """The problem response of what a handler raised, and its ``code``.

    An unknown exception is logged with its traceback.
    Redirects and 2xx raised as ``HTTPException`` are re-raised, not rendered.
    """
    if isinstance(exc, Problem):
        problem = exc
    elif isinstance(exc, CellError):
        retry_after = request.app[keys.SETTINGS].retry_after_s
        problem = Problem.from_cell_error(exc, retry_after_s=retry_after)
    elif isinstance(exc, web.HTTPException):
        if exc.status < HTTPStatus.BAD_REQUEST:  # redirects and 2xx raised by aiohttp
            raise exc
        problem = from_http_exception(exc)
    else:
        log.error("request_failed", request_id=request_id, path=request.path, exc_info=exc)
        problem = Problem(500, "internal", "unexpected error; quote the request id to support")
    return problem.response(request_id), problem.code
