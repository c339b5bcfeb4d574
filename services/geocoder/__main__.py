"""``python -m cocoa_geocoder``: serve lookups and run geocoding jobs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging

from cocoa_common import logs
from cocoa_common.grpc_server import install_stop_signals
from cocoa_common.settings import Settings
from cocoa_geocoder.server import start_geocoder

logger = logging.getLogger("cocoa_geocoder")


async def main() -> None:
    settings = Settings.from_env()
    logs.configure(settings.log_level, "geocoder")
    app = await start_geocoder(settings)
    logger.info("geocoder listening on port %s; worker %s", app.port, app.worker.worker_id)
    stop = asyncio.Event()
    install_stop_signals(stop)
    await stop.wait()
    logger.info("geocoder stopping")
    await app.stop()


if __name__ == "__main__":
    asyncio.run(main())
