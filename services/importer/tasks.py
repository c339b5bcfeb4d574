"""Small asyncio helpers shared by the import jobs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def settle(task: asyncio.Future[Any] | None) -> None:
    """Wait for a task whose result no longer matters (a read-ahead when the job stops early), so
    no thread still reads a file the job is about to close."""
    if task is not None:
        with contextlib.suppress(Exception):
            await task
