"""In-process notification of job changes, so watchers wake at once instead of polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator


class EventHub:
    """Watchers of a job wait here; every persisted job event pokes them.

    A watcher arms before it reads the database and waits after, so a poke that lands while it
    reads is not lost: ``with hub.armed(job_id) as poked: <read>; await hub.wait(poked, timeout)``.
    """

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def publish(self, job_id: str) -> None:
        for future in self._waiters.pop(job_id, set()):
            if not future.done():
                future.set_result(None)

    @contextlib.contextmanager
    def armed(self, job_id: str) -> Iterator[asyncio.Future[None]]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[job_id].add(future)
        try:
            yield future
        finally:
            future.cancel()
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    self._waiters.pop(job_id, None)

    @staticmethod
    async def wait(poked: asyncio.Future[None], timeout: float) -> None:
        """Until the job is poked (perhaps already) or ``timeout`` seconds pass."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # not wait_for, which can swallow a cancel on 3.11
                await asyncio.shield(poked)
