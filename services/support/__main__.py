"""``python -m services.support``: run the support service until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from services.runtime.errors import ConfigurationError
from services.runtime.lifecycle import serve
from services.runtime.logging import configure_logging, get_logger
from services.runtime.settings import load, redacted
from services.support.settings import SupportSettings
from services.support.worker import run


def main() -> int:
    try:
        settings = load(SupportSettings)
    except ConfigurationError as exc:
        print(exc.message, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    configure_logging("support", fmt=settings.log_format, level=settings.log_level)
    get_logger(__name__).info("support_settings", **redacted(settings))

    async def worker(stop: asyncio.Event) -> None:
        await run(settings, stop)

    return serve(worker, name="support")


if __name__ == "__main__":
    sys.exit(main())
