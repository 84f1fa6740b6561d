"""Read-side queries of the gateway, answered from the services' compacted state topics.

- ``views.py``: one consumer per process materialises ``cell.state.{incidents, cases,
  requests, orders}`` in memory (latest record per key, tombstones delete), started and
  stopped with the app; the gateway starts and serves submissions whether or not it can.
- ``index.py`` / ``convert.py`` / ``select.py``: pure tables with secondary indexes, record
  to answer conversion, and the queries with the desk's releasability filter.
- ``params.py`` / ``routes.py`` / ``answers.py``: validated parameters, the documented GET
  routes and their response structs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.gateway import keys
from services.gateway.queries import routes
from services.gateway.queries.routes import VIEWS
from services.gateway.queries.views import StateViews

__all__ = ["VIEWS", "StateViews", "setup"]


async def _views_ctx(app: web.Application) -> AsyncIterator[None]:
    views = app[VIEWS]
    views.start()  # a task: a broker that is down must not hold the app's start-up
    try:
        yield
    finally:
        await views.aclose()


def setup(app: web.Application) -> None:
    """Register the query routes and the views' lifecycle on the app."""
    app[VIEWS] = StateViews(app[keys.SETTINGS], app[keys.METRICS].registry)
    app.cleanup_ctx.append(_views_ctx)
    routes.setup(app)
