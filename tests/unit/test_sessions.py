"""Session supervision (services/runtime/sessions.py): what restarts and what ends a worker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import IllegalOperation, KafkaConnectionError

from services.runtime import sessions
from services.runtime.errors import BrokerUnavailable, ConfigurationError


class Script:
    """A session that fails as told, one outcome per start, then runs until stop."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.starts = 0

    async def __call__(self, stop: asyncio.Event) -> None:
        self.starts += 1
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if outcome is not None:
                raise outcome
            return
        stop.set()


async def _supervise(script: Script) -> None:
    stop = asyncio.Event()
    await asyncio.wait_for(
        sessions.supervise(script, stop, component="t", event="t_failed", restart_delay_s=0),
        10,
    )


async def test_known_failures_restart_for_as_long_as_they_last():
    outage = [KafkaConnectionError(), BrokerUnavailable("down"), TimeoutError()] * 4
    script = Script(*outage)
    await _supervise(script)
    assert script.starts == len(outage) + 1  # every failure restarted, then it ran


async def test_an_unexpected_failure_restarts_a_few_times_in_a_row_then_ends_the_worker():
    script = Script(*[IllegalOperation("not in transaction")] * (sessions.MAX_UNEXPECTED + 1))
    with pytest.raises(IllegalOperation):
        await _supervise(script)
    assert script.starts == sessions.MAX_UNEXPECTED + 1


async def test_unexpected_failures_below_the_limit_are_survived():
    script = Script(*[RuntimeError("client state")] * sessions.MAX_UNEXPECTED)
    await _supervise(script)
    assert script.starts == sessions.MAX_UNEXPECTED + 1


async def test_a_configuration_error_is_never_retried():
    script = Script(ConfigurationError("bad desks file"))
    with pytest.raises(ConfigurationError):
        await _supervise(script)
    assert script.starts == 1


async def test_a_session_that_returns_ends_supervision():
    script = Script(None)
    await _supervise(script)
    assert script.starts == 1
