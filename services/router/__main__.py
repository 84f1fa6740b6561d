"""``python -m services.router``: run the router until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from services.router.settings import RouterSettings
from services.router.worker import run
from services.runtime import metrics
from services.runtime.errors import ConfigurationError
from services.runtime.lifecycle import serve
from services.runtime.logging import configure_logging, get_logger
from services.runtime.settings import load, redacted


def main() -> int:
    try:
        settings = load(RouterSettings)
    except ConfigurationError as exc:
        print(exc.message, file=sys.stderr)  # noqa: T201 - logging is not configured yet
        return 2
    configure_logging("router", fmt=settings.log_format, level=settings.log_level)
    get_logger(__name__).info("router_settings", **redacted(settings))
    metrics.serve(settings.metrics_port)

    async def worker(stop: asyncio.Event) -> None:
        await run(settings, stop)

    return serve(worker, name="router")


if __name__ == "__main__":
    sys.exit(main())
