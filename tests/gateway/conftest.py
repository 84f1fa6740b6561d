"""Gateway fixtures shared by the submit and receive tests.

- ``gateway_desks``: a small registry with known clear tokens (``DESK_TOKENS``).
- ``gateway_prefix`` / ``gateway_topics``: a unique topic prefix per test module, with every
  topic of the registry provisioned on the real broker (the gateway never provisions).
- ``make_settings(**overrides)`` / ``gateway_settings``: settings pointing at that broker.
- ``make_client(settings=None, registry=None)`` / ``gateway_client``: an aiohttp TestClient
  around ``create_app`` with the real broker; closed (and its producers stopped) at teardown.
- ``auth(desk_id)``: the Authorization header of a desk.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from gateway_registry import GATEWAY_DESKS, MakeClient, MakeSettings, auth_header

from schemas import topics
from schemas.desks import DeskRegistry
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.runtime.provision import provision


@pytest.fixture(scope="session")
def gateway_desks() -> DeskRegistry:
    return GATEWAY_DESKS


@pytest.fixture
def auth() -> Callable[[str], dict[str, str]]:
    return auth_header


@pytest.fixture(scope="module")
def gateway_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="module")
def gateway_topics(kafka_bootstrap: str, gateway_prefix: str, gateway_desks: DeskRegistry) -> str:
    """Provision every topic of the test registry under the module's prefix."""
    specs = topics.registry(gateway_desks, prefix=gateway_prefix)
    report = asyncio.run(provision(kafka_bootstrap, specs, timeout_s=60.0))
    assert report.ok, report.drift
    return gateway_prefix


@pytest.fixture
def make_settings(kafka_bootstrap: str, gateway_topics: str) -> MakeSettings:
    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "kafka_bootstrap": kafka_bootstrap,
            "topic_prefix": gateway_topics,
            "kafka_timeout_s": 5.0,
            "publish_deadline_s": 5.0,
            "retry_after_s": 2,
            "cursor_secret": "test-cursor-secret",
            "log_format": "json",
        }
        return GatewaySettings(**(values | overrides))

    return make


@pytest.fixture
def gateway_settings(make_settings: MakeSettings) -> GatewaySettings:
    return make_settings()


@pytest.fixture
async def make_client(
    gateway_settings: GatewaySettings, gateway_desks: DeskRegistry
) -> AsyncIterator[MakeClient]:
    clients: list[TestClient[Any, Any]] = []

    async def make(
        settings: GatewaySettings | None = None, registry: DeskRegistry | None = None
    ) -> TestClient[Any, Any]:
        app = create_app(settings or gateway_settings, registry=registry or gateway_desks)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in reversed(clients):
            await client.close()


@pytest.fixture
async def gateway_client(make_client: MakeClient) -> TestClient[Any, Any]:
    return await make_client()


# --- submissions -------------------------------------------------------------------------


def submission(
    *,
    precedence: str = "ROUTINE",
    action_to: tuple[str, ...] = ("fra.cell",),
    traffic_type: str = "OPERATION",
    text: str = "Liaison check: confirm receipt of the weekly coordination schedule.",
    **extra: Any,
) -> dict[str, Any]:
    """A valid LiaisonMessage submission as a desk would post it (JSON-ready)."""
    now = datetime.now(UTC).isoformat()
    return {
        "traffic_type": traffic_type,
        "action_to": list(action_to),
        "primary_precedence": precedence,
        "label": {
            "policy": "NATO",
            "classification": "NATO RESTRICTED",
            "releasable_to": ["USA", "UKR", "FRA", "NLD"],
            "created_at": now,
        },
        "subject": "Weekly coordination schedule",
        "body": {"kind": "liaison.message.v1", "topic": "COORDINATION", "text": text},
        **extra,
    }


@pytest.fixture
def new_submission() -> Callable[..., dict[str, Any]]:
    return submission
