"""``python -m cocoa_importer``: accept uploads and run import jobs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from cocoa_common import logs
from cocoa_common.grpc_server import install_stop_signals
from cocoa_common.settings import Settings
from cocoa_importer.server import start_importer

logger = logging.getLogger("cocoa_importer")


async def main() -> None:
    settings = Settings.from_env()
    logs.configure(settings.log_level, "importer")
    app = await start_importer(settings)
    logger.info("importer listening on port %s; worker %s", app.port, app.worker.worker_id)
    stop = asyncio.Event()
    install_stop_signals(stop)
    await stop.wait()
    logger.info("importer stopping")
    await app.stop()


if __name__ == "__main__":
    asyncio.run(main())
