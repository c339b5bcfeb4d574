"""``python -m cocoa_coordinator``: run the coordinator until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from cocoa_common import logs
from cocoa_common.grpc_server import install_stop_signals
from cocoa_common.settings import Settings
from cocoa_coordinator.server import start_coordinator

logger = logging.getLogger("cocoa_coordinator")


async def main() -> None:
    settings = Settings.from_env()
    logs.configure(settings.log_level, "coordinator")
    app = await start_coordinator(settings)
    logger.info("coordinator listening on port %s", app.port)
    stop = asyncio.Event()
    install_stop_signals(stop)
    await stop.wait()
    logger.info("coordinator stopping")
    await app.stop()


if __name__ == "__main__":
    asyncio.run(main())
