"""Supervising a worker's sessions: a failed session is rebuilt from Kafka, never patched.

The router and the domain services run *sessions*: clients built, state replayed from a
compacted topic, input consumed in transactions. When a session fails, its clients are closed
and its in-memory state dropped; the next one starts from what Kafka committed.

Failures we know (``KafkaError``, ``BrokerUnavailable``, timeouts) restart the session for as
long as they last: a broker outage must not end a service. Anything else is logged with its
traceback and restarted too, a few times in a row at most: a client library's internal state
after a broker failure has surprised us before (aiokafka's ``IllegalOperation``, an assertion
in its transaction manager). A bug that fails every fresh session then ends the process, and
its supervisor (``cell up``, Kubernetes) sees the crash instead of a silent restart loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError

from services.runtime.errors import BrokerUnavailable, ConfigurationError
from services.runtime.lifecycle import wait_or_stop
from services.runtime.logging import get_logger

log = get_logger(__name__)

RESTART_DELAY_S = 1.0
MAX_UNEXPECTED = 3  # unexpected failures in a row before the process gives up
STABLE_S = 60.0  # a session that ran this long resets the count


async def supervise(
    session: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    component: str,
    event: str,
    restart_delay_s: float = RESTART_DELAY_S,
) -> None:
    """Run ``session(stop)`` until it returns or ``stop`` is set, rebuilding it on failure."""
    unexpected = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            await session(stop)
        except (KafkaError, BrokerUnavailable, TimeoutError) as exc:
            log.warning(event, component=component, error=repr(exc))
        except ConfigurationError:
            raise
        except Exception as exc:
            stable = time.monotonic() - started >= STABLE_S
            unexpected = 1 if stable else unexpected + 1
            if unexpected > MAX_UNEXPECTED:
                raise
            log.exception(event, component=component, error=repr(exc), unexpected=unexpected)
        else:
            return
        if await wait_or_stop(stop, restart_delay_s):
            return
