"""End-to-end fixtures: the real gateway app and the real router worker on the real broker.

The gateway fixtures (`gateway_desks`, `make_client`, `auth`, ...) live in tests/gateway; the
few this folder needs are rebuilt here on the same desk registry so the folders stay apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from e2e_desks import REGISTRY

from schemas import topics
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.router.settings import RouterSettings
from services.router.worker import run as run_router
from services.runtime.provision import provision


@pytest.fixture
async def cell(kafka_bootstrap: str) -> AsyncIterator[TestClient[Any, Any]]:
    """A provisioned prefix, the router routing it, and a gateway client in front."""
    prefix = f"e{uuid.uuid4().hex[:8]}."
    report = await provision(kafka_bootstrap, topics.registry(REGISTRY, prefix=prefix))
    assert report.ok
    stop = asyncio.Event()
    router = asyncio.create_task(
        run_router(
            RouterSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix),
            stop,
            registry=REGISTRY,
        )
    )
    settings = GatewaySettings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=prefix,
        cursor_secret="e2e-cursor-secret",
        log_format="json",
    )
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings, registry=REGISTRY)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(router, 60)
