"""The life of a service process: settings, logging, start, wait for SIGTERM/SIGINT, graceful stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from cocoa_common import logs
from cocoa_common.grpc_server import BindError, install_stop_signals
from cocoa_common.settings import Settings

logger = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait until each has ended. Unlike ``await task`` under
    ``suppress(CancelledError)``, this never swallows a cancel aimed at the caller itself."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            logger.warning("task %s ended with %r", task.get_name(), task.exception())


class Service(Protocol):
    port: int

    async def stop(self, grace: float = ...) -> None: ...


def run_service(name: str, start: Callable[[Settings], Awaitable[Service]]) -> None:
    """Run ``start(settings)`` until the process is asked to stop, then stop it gracefully."""

    async def main() -> None:
        settings = Settings.from_env()
        logs.configure(settings.log_level, name, settings.log_format)
        logger = logging.getLogger(f"cocoa_{name}")
        try:
            service = await start(settings)
        except BindError as exc:  # one clear line, not a traceback; a supervisor may try again
            logger.error("%s", exc)
            raise SystemExit(1) from None
        logger.info("%s listening on port %s", name, service.port)
        stop = asyncio.Event()
        install_stop_signals(stop)
        await stop.wait()
        logger.info("%s stopping", name)
        await service.stop()

    asyncio.run(main())
