"""The canonical request line, request ids, request metrics and the concurrency cap.

Outermost middleware: it sees the final status of every request, problems included, and
writes exactly one structured line per request. The token never reaches it (only the
authenticated desk id does).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from schemas.desks import Desk
from services.gateway import keys
from services.gateway.problems import Problem
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


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    offered = request.headers.get("X-Request-ID", "")
    request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    request[keys.REQUEST_ID] = request_id
    app = request.app
    active = app[_ACTIVE]
    status = 500
    try:
        # Long-polls and streams hold their connection: cap what one process keeps open.
        if active[0] >= app[keys.SETTINGS].max_connections:
            response: web.StreamResponse = Problem(
                503,
                "too_many_connections",
                "the gateway is at its connection limit",
                retry_after_s=app[keys.SETTINGS].retry_after_s,
            ).response(request_id)
        else:
            active[0] += 1
            try:
                response = await handler(request)
            finally:
                active[0] -= 1
        status = response.status
        response.headers["X-Request-ID"] = request_id
    except web.HTTPException as exc:  # raised past the problem middleware (2xx/3xx)
        status = exc.status
        raise
    else:
        return response
    finally:
        route = route_template(request)
        elapsed = time.perf_counter() - started
        metrics = app[keys.METRICS]
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.request_seconds.labels(route).observe(elapsed)
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
        )
