"""``python -m cocoa_gateway``: serve the REST gateway on GATEWAY_HOST:GATEWAY_PORT until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from cocoa_common import logs
from cocoa_common.grpc_server import install_stop_signals
from cocoa_common.settings import Settings
from cocoa_gateway.app import create_app

logger = logging.getLogger("cocoa_gateway")

# Open requests get this long to finish once a stop is requested (event streams end at once).
SHUTDOWN_TIMEOUT_S = 10.0


async def serve(settings: Settings) -> None:
    """Run until a stop signal, then stop accepting, finish requests and close backends."""
    runner = web.AppRunner(create_app(settings), shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.gateway_host, settings.gateway_port).start()
        logger.info("gateway listening on http://%s:%s", settings.gateway_host, settings.gateway_port)
        stop = asyncio.Event()
        install_stop_signals(stop)
        await stop.wait()
        logger.info("gateway stopping")
    finally:
        await runner.cleanup()


def main() -> None:
    settings = Settings.from_env()
    logs.configure(settings.log_level, "gateway", settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
