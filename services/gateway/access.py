"""The gateway's one middleware: request id, connection cap, authentication, problems,
request metrics and the canonical request line.

It sees the final status of every request, problems included, and writes exactly one
structured line per request. The token never reaches it (only the authenticated desk id
does). One middleware rather than three nested ones (access, problems, auth): each layer
was a coroutine frame and an ``await`` per request on the hot path, and they shared the
route lookup and the request id anyway.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from schemas.desks import Desk
from services.gateway import keys
from services.gateway.auth import authenticate_route
from services.gateway.problems import Problem, rendered
from services.runtime.logging import get_logger

log = get_logger("services.gateway.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_ACTIVE: web.AppKey[list[int]] = web.AppKey("active_requests", list)


def route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "<unmatched>"


def setup(app: web.Application) -> None:
    app[_ACTIVE] = [0]


def _request_id(request: web.Request) -> str:
    offered = request.headers.get("X-Request-ID", "")
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return os.urandom(16).hex()  # uuid4().hex's shape (32 hex digits), without the UUID


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    request_id = _request_id(request)
    request[keys.REQUEST_ID] = request_id
    app = request.app
    route = route_template(request)
    active = app[_ACTIVE]
    status = 500
    code: str | None = None
    try:
        # Long-polls and streams hold their connection: cap what one process keeps open.
        if active[0] >= app[keys.SETTINGS].max_connections:
            problem = Problem(
                503,
                "too_many_connections",
                "the gateway is at its connection limit",
                retry_after_s=app[keys.SETTINGS].retry_after_s,
            )
            response: web.StreamResponse = problem.response(request_id)
            code = problem.code
        else:
            active[0] += 1
            try:
                authenticate_route(request, route)
                response = await handler(request)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a problem
                response, code = rendered(request, exc, request_id)
            finally:
                active[0] -= 1
        status = response.status
        response.headers["X-Request-ID"] = request_id
    except web.HTTPException as exc:  # raised past the problem rendering (2xx/3xx)
        status = exc.status
        raise
    else:
        return response
    finally:
        elapsed = time.perf_counter() - started
        app[keys.METRICS].request_done(route, request.method, status, elapsed)
        desk = request.get(keys.DESK)
        log.info(
            "http_request",
            request_id=request_id,
            desk=desk.id if isinstance(desk, Desk) else None,
            method=request.method,
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            message_id=request.get(keys.MESSAGE_ID),
            code=code,
        )
