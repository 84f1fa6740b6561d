"""The gateway app factory: settings, desks, middlewares, routes, the publisher lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from schemas.desks import DeskRegistry
from services.gateway import access, inbox, keys, ops, queries, submit
from services.gateway.auth import load_desks
from services.gateway.metrics import GatewayMetrics
from services.gateway.openapi import OpenApiRegistry
from services.gateway.publisher import Publisher
from services.gateway.settings import GatewaySettings

API_VERSION = "1.0.0"
_DESCRIPTION = (
    "Edge of the Paris coordination cell: liaison desks submit traffic and read their "
    "inboxes here. Every request is authenticated (bearer token or client certificate) "
    "except the operational routes; errors are RFC 9457 problem documents."
)


async def _publisher_ctx(app: web.Application) -> AsyncIterator[None]:
    # One Publisher (and its producers) per process, closed after the last request.
    publisher = Publisher(app[keys.SETTINGS], app[keys.METRICS])
    app[keys.PUBLISHER] = publisher
    app[keys.PRODUCER] = publisher
    try:
        yield
    finally:
        await publisher.aclose()


def create_app(
    settings: GatewaySettings, *, registry: DeskRegistry | None = None
) -> web.Application:
    """Build the gateway; Kafka clients start with the app (``cleanup_ctx``), lazily."""
    app = web.Application(
        # One middleware: request id, connection cap, auth, problems, metrics, request line.
        middlewares=[access.access_middleware],
        client_max_size=settings.max_body_bytes,
        handler_args={
            "max_line_size": settings.max_header_line_bytes,
            "max_field_size": settings.max_header_line_bytes,
        },
    )
    app[keys.SETTINGS] = settings
    app[keys.REGISTRY] = registry if registry is not None else load_desks(settings.desks_file)
    app[keys.METRICS] = GatewayMetrics()
    app[keys.OPENAPI] = OpenApiRegistry(
        title="Paris cell gateway", version=API_VERSION, description=_DESCRIPTION
    )
    access.setup(app)
    ops.setup(app)
    submit.setup(app)
    inbox.setup(app)
    queries.setup(app)
    app.cleanup_ctx.append(_publisher_ctx)
    return app
