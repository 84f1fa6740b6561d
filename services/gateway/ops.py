"""Operational routes: liveness, readiness, metrics, the OpenAPI document and its page."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web
from msgspec import Struct

from schemas.precedence import LANES_HIGH_FIRST
from services.gateway import docs, keys
from services.gateway.metrics import CONTENT_TYPE_LATEST
from services.gateway.openapi import Operation, Response, route
from services.gateway.problems import Problem
from services.gateway.queries import VIEWS
from services.gateway.queries.answers import ViewsStatus
from services.runtime.errors import BrokerUnavailable

_ENCODER = msgspec.json.Encoder()
_READY_TIMEOUT_S = 3.0


class Health(Struct, frozen=True, kw_only=True):
    status: str


class Readiness(Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: str
    topics: int
    # Information only: the query views never make the gateway unready for submissions.
    views: ViewsStatus | None = None


async def healthz(_: web.Request) -> web.Response:
    return web.Response(body=_ENCODER.encode(Health(status="ok")), content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """Ready when Kafka answers and every submit lane exists (what POST /v1/messages needs)."""
    app = request.app
    publisher = app[keys.PUBLISHER]
    topics = [publisher.topic_for(lane) for lane in LANES_HIGH_FIRST]
    timeout = min(_READY_TIMEOUT_S, app[keys.SETTINGS].publish_deadline_s)
    retry = app[keys.SETTINGS].retry_after_s
    try:
        missing = await publisher.missing_topics(topics, timeout)
    except BrokerUnavailable as exc:
        raise Problem(503, "not_ready", exc.message, retry_after_s=retry) from exc
    if missing:
        detail = "topics missing: " + ", ".join(missing)
        raise Problem(503, "not_ready", detail, retry_after_s=retry)
    views = app[VIEWS].status() if VIEWS in app else None
    body = Readiness(status="ready", topics=len(topics), views=views)
    return web.Response(body=_ENCODER.encode(body), content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[keys.METRICS].render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def openapi_json(request: web.Request) -> web.Response:
    document = request.app[keys.OPENAPI].document()
    return web.Response(body=_ENCODER.encode(document), content_type="application/json")


async def docs_page(request: web.Request) -> web.Response:
    page = docs.render(request.app[keys.OPENAPI].document())
    return web.Response(text=page, content_type="text/html")


def setup(app: web.Application) -> None:
    ops = [
        (
            Operation(
                method="GET",
                path="/healthz",
                operation_id="healthz",
                summary="Liveness: the process is up",
                tags=("operations",),
                responses=(Response(status=200, description="Up", type=Health),),
                secured=False,
            ),
            healthz,
        ),
        (
            Operation(
                method="GET",
                path="/readyz",
                operation_id="readyz",
                summary="Readiness: Kafka reachable and the submit lanes present",
                tags=("operations",),
                responses=(Response(status=200, description="Ready", type=Readiness),),
                problems=(503,),
                secured=False,
            ),
            readyz,
        ),
        (
            Operation(
                method="GET",
                path="/metrics",
                operation_id="metrics",
                summary="Prometheus metrics",
                tags=("operations",),
                responses=(
                    Response(
                        status=200,
                        description="Prometheus text exposition",
                        type=str,
                        media_type="text/plain",
                    ),
                ),
                secured=False,
            ),
            metrics,
        ),
        (
            Operation(
                method="GET",
                path="/v1/openapi.json",
                operation_id="openapi",
                summary="This API's OpenAPI 3.1 document",
                tags=("operations",),
                responses=(Response(status=200, description="OpenAPI 3.1", type=dict[str, Any]),),
                secured=False,
            ),
            openapi_json,
        ),
        (
            Operation(
                method="GET",
                path="/v1/docs",
                operation_id="docs",
                summary="Human-readable API documentation (works offline)",
                tags=("operations",),
                responses=(
                    Response(status=200, description="HTML page", type=str, media_type="text/html"),
                ),
                secured=False,
            ),
            docs_page,
        ),
    ]
    for operation, handler in ops:
        route(app, operation, handler)
