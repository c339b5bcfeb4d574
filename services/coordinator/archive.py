"""Archival: jobs that finished long ago leave the live tables (``jobs``, ``job_item_errors``), so
lists, dispatch and the error ledger stay fast, and land unchanged in ``archived_jobs`` and
``archived_job_item_errors``. Runs in the coordinator every JOB_ARCHIVE_INTERVAL_SECONDS and from
``cocoa-jobs jobs archive``."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.ids import utcnow
from cocoa_coordinator.repository import JobRepository

logger = logging.getLogger(__name__)

# Jobs moved per transaction: one import job may carry millions of item errors.
ARCHIVE_BATCH = 20


async def archive_finished(
    sessions: async_sessionmaker[AsyncSession], older_than: timedelta, *, max_jobs: int = 10_000
) -> int:
    """Archive jobs that finished more than ``older_than`` ago, at most ``max_jobs`` of them (the
    next run takes the rest); returns how many moved."""
    before = utcnow() - older_than
    moved = 0
    while moved < max_jobs:
        async with sessions.begin() as session:
            batch = await JobRepository(session).archive_finished(
                before, min(ARCHIVE_BATCH, max_jobs - moved)
            )
        moved += batch
        if batch == 0:
            break
    if moved:
        logger.info("archived %d jobs that finished before %s", moved, before.isoformat())
    return moved
