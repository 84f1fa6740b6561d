"""``python -m services.tasking``: run the tasking service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from services.runtime.errors import ConfigurationError
from services.runtime.lifecycle import serve
from services.runtime.logging import configure_logging, get_logger
from services.runtime.settings import load, redacted
from services.tasking.settings import TaskingSettings
from services.tasking.worker import run


def main() -> int:
    try:
        settings = load(TaskingSettings)
    except ConfigurationError as exc:
        print(exc.message, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    configure_logging("tasking", fmt=settings.log_format, level=settings.log_level)
    get_logger(__name__).info("tasking_settings", **redacted(settings))

    async def worker(stop: asyncio.Event) -> None:
        await run(settings, stop)

    return serve(worker, name="tasking")


if __name__ == "__main__":
    sys.exit(main())
