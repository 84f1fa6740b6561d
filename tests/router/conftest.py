"""Router fixtures: a provisioned topic prefix per test and an in-process router."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from router_cell import Cell
from router_helpers import REGISTRY

from schemas import topics
from services.runtime.provision import provision


@pytest.fixture
async def cell(kafka_bootstrap: str) -> AsyncIterator[Cell]:
    cell = Cell(kafka_bootstrap)
    report = await provision(kafka_bootstrap, topics.registry(REGISTRY, prefix=cell.prefix))
    assert report.ok
    await asyncio.wait_for(cell.producer.start(), 30)
    try:
        yield cell
    finally:
        with contextlib.suppress(Exception):
            await cell.stop_router()
        await asyncio.wait_for(cell.producer.stop(), 30)
