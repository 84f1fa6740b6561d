"""Typed keys shared by the gateway's modules (aiohttp AppKey / request keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from schemas.desks import Desk, DeskRegistry

if TYPE_CHECKING:
    from services.gateway.metrics import GatewayMetrics
    from services.gateway.openapi import OpenApiRegistry
    from services.gateway.publisher import Publisher
    from services.gateway.settings import GatewaySettings

REGISTRY: web.AppKey[DeskRegistry] = web.AppKey("registry", DeskRegistry)
# The one idempotent acks=all producer of this process (aiokafka is untyped, hence Any).
# Holds the same `Publisher` as PUBLISHER: producers are rebuilt after a broker failure, so
# nothing may keep a raw aiokafka producer; publish through `Publisher.publish`.
PRODUCER: web.AppKey[Any] = web.AppKey("producer", object)
PUBLISHER: web.AppKey[Publisher] = web.AppKey("publisher")
SETTINGS: web.AppKey[GatewaySettings] = web.AppKey("settings")
METRICS: web.AppKey[GatewayMetrics] = web.AppKey("metrics")
# Route modules register their operations here; /v1/openapi.json is generated from it.
OPENAPI: web.AppKey[OpenApiRegistry] = web.AppKey("openapi")
# Set by the authentication middleware on every authenticated request.
DESK: web.RequestKey[Desk] = web.RequestKey("desk", Desk)
# Set by the access-log middleware: echoed as X-Request-ID and in every problem document.
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
# Set by a handler that accepted or refers to a message; the request log line carries it.
MESSAGE_ID: web.RequestKey[str] = web.RequestKey("message_id", str)


def desk_of(request: web.Request) -> Desk:
    desk = request.get(DESK)
    if not isinstance(desk, Desk):
        raise web.HTTPUnauthorized
    return desk
