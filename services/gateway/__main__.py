"""``python -m services.gateway``: serve the gateway until SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from services.gateway import keys
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings, load_settings
from services.gateway.tls import server_context
from services.runtime.errors import ConfigurationError
from services.runtime.logging import configure_logging, get_logger
from services.runtime.settings import redacted

log = get_logger("services.gateway")
_SHUTDOWN_TIMEOUT_S = 10.0


async def serve(settings: GatewaySettings, stop: asyncio.Event) -> None:
    """Run the app on host:port until ``stop`` is set, then drain and close cleanly."""
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, settings.host, settings.port, ssl_context=server_context(settings)
        )
        await site.start()
        log.info(
            "gateway_listening",
            host=settings.host,
            port=settings.port,
            tls=bool(settings.tls_cert),
            mutual_tls=bool(settings.tls_client_ca),
            desks=len(app[keys.REGISTRY]),
        )
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        configure_logging("gateway")
        log.error("configuration_invalid", error=exc.message)  # noqa: TRY400
        return 2
    configure_logging("gateway", fmt=settings.log_format, level=settings.log_level)
    log.info("gateway_starting", settings=redacted(settings))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(run())
    except ConfigurationError as exc:
        log.error("configuration_invalid", error=exc.message)  # noqa: TRY400
        return 2
    log.info("gateway_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
