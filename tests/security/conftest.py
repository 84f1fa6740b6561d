"""Security-test fixtures: ``secure_cell``, a module's cell (see ``secure_cell.py``); at the
end of the session RELIABILITY.md is rendered from the figures the tests wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from secure_cell import SecureCell, render_reliability, start_cell


@pytest.fixture(scope="module")
def secure_cell(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecureCell]:
    secure = start_cell(kafka_bootstrap, tmp_path_factory.mktemp("secure"))
    try:
        yield secure
    finally:
        asyncio.run(secure.cell.stop_all())


def pytest_sessionfinish(session: pytest.Session) -> None:
    del session
    render_reliability()
