"""Worker lifecycle: one `run()` coroutine, a stop event set by SIGTERM / SIGINT, owned tasks.

`serve(worker)` is what a service's `main()` calls: it installs the signal handlers, runs the
worker's `run(stop)` and returns an exit code. Workers build their clients inside an
`AsyncExitStack`, so teardown happens in reverse order however `run` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from services.runtime.errors import ConfigurationError
from services.runtime.logging import get_logger

log = get_logger(__name__)


class TaskGroupOwner:
    """Background tasks that are referenced, cancelled and awaited: never fire-and-forget."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task_failed", task=task.get_name(), exc_info=task.exception())

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def wait_or_stop(stop: asyncio.Event, timeout_s: float) -> bool:
    """Sleep up to `timeout_s`, waking at once on stop; True when stop was requested."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout_s)
    return stop.is_set()


def serve(run: Callable[[asyncio.Event], Awaitable[None]], *, name: str) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("service_starting", component=name)
        await run(stop)
        log.info("service_stopped", component=name)

    try:
        asyncio.run(main())
    except ConfigurationError as exc:
        log.error("configuration_invalid", component=name, error=exc.message)  # noqa: TRY400
        return 2
    except Exception:
        # One structured line with the traceback, so an operator tailing JSON sees why it ended.
        log.exception("service_failed", component=name)
        return 1
    return 0
