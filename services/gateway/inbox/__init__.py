"""Receiving side of the gateway: inbox long-poll, WebSocket stream, receipts, status."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the receiving routes and their background readers on the app."""
    del app  # routes land with the inbox work (issue 4, receive half)
