"""Typed keys shared by the gateway's modules (aiohttp AppKey / request keys)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schemas.desks import Desk, DeskRegistry

REGISTRY: web.AppKey[DeskRegistry] = web.AppKey("registry", DeskRegistry)
# The one idempotent acks=all producer of this process (aiokafka is untyped, hence Any).
PRODUCER: web.AppKey[Any] = web.AppKey("producer", object)
# Set by the authentication middleware on every authenticated request.
DESK = "cell.desk"


def desk_of(request: web.Request) -> Desk:
    desk = request.get(DESK)
    if not isinstance(desk, Desk):
        raise web.HTTPUnauthorized
    return desk
