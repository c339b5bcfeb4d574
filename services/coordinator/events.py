"""In-process notification of job changes, so watchers wake at once instead of polling."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class EventHub:
    """Watchers of a job wait here; every persisted job event pokes them."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def publish(self, job_id: str) -> None:
        for future in self._waiters.pop(job_id, set()):
            if not future.done():
                future.set_result(None)

    async def wait(self, job_id: str, timeout: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[job_id].add(future)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    self._waiters.pop(job_id, None)
