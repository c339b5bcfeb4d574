"""Upload retention: an uploaded file (hundreds of MB to GB) is removed once the import job that reads
it has been finished for UPLOAD_RETENTION_HOURS. Its ``uploads`` row stays, with ``deleted_at``, so
the name, size and sha256 of what was imported are still known.

Every importer replica sweeps every UPLOAD_SWEEP_INTERVAL_SECONDS; replicas sharing one storage
directory remove each file once. A sweep also removes what crashes leave behind, once a day old:
partial uploads, and files that no upload row names; and resumable uploads nobody has appended to
for a day (with their bytes), or imported a day ago.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.ids import utcnow
from cocoa_common.models import Upload
from cocoa_importer.repository import ImportRepository
from cocoa_importer.resumable import ResumableUploads
from cocoa_importer.storage import ABANDONED_AFTER, NotAnUpload, StoredEntry, UploadStore

logger = logging.getLogger(__name__)

ORPHAN_AGE = ABANDONED_AFTER
PAGE = 100
MIN_INTERVAL_S = 0.05


@dataclass(frozen=True, slots=True)
class JobEnd:
    finished: bool  # completed, failed or cancelled
    completed_at: datetime | None


# A job's state by id; None when the coordinator no longer has it (archived: finished long ago).
FindJob = Callable[[str], Awaitable[JobEnd | None]]


@dataclass
class SweepResult:
    expired: int = 0  # files of uploads whose job finished before the retention
    orphans: int = 0  # partial uploads and unnamed files, a day old
    resumable: int = 0  # resumable uploads nobody appended to for a day, or imported a day ago


class UploadRetention:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: UploadStore,
        find_job: FindJob,
        keep: timedelta | None,
        orphan_age: timedelta = ORPHAN_AGE,
        resumable: ResumableUploads | None = None,
    ) -> None:
        """``keep`` None: finished uploads' files are kept forever (orphans are still removed).
        ``resumable``: the process's own resumable uploads, whose running hashes it forgets too."""
        self.sessions = sessions
        self.store = store
        self.find_job = find_job
        self.keep = keep
        self.orphan_age = orphan_age
        self.resumable = resumable or ResumableUploads(sessions, store, orphan_age)

    async def run_forever(self, interval_s: float) -> None:
        """Sweep every ``interval_s``, the first time one interval after start."""
        while True:
            await asyncio.sleep(max(interval_s, MIN_INTERVAL_S))
            try:
                result = await self.sweep()
                if result.expired or result.orphans or result.resumable:
                    logger.info(
                        "upload retention removed %d finished uploads, %d orphaned files and %d"
                        " resumable uploads",
                        result.expired,
                        result.orphans,
                        result.resumable,
                    )
            except Exception:
                logger.exception("upload retention sweep failed; trying again next interval")

    async def sweep(self, now: datetime | None = None) -> SweepResult:
        now = now or utcnow()
        expired = 0 if self.keep is None else await self._expire(now - self.keep, now)
        resumable = await self.resumable.expire(now)
        return SweepResult(expired, await self._remove_orphans(now), resumable)

    async def _expire(self, cutoff: datetime, now: datetime) -> int:
        """Remove the files of uploads whose job finished before ``cutoff``. An upload created after
        ``cutoff`` cannot qualify (its job finished later still), so only older ones are asked about."""
        removed, after = 0, ""
        while True:
            async with self.sessions() as session:
                page = await ImportRepository(session).stored_uploads(cutoff, after, PAGE)
            for upload in page:
                if await self._expired(upload, cutoff, now):
                    removed += await self._remove(upload.id, upload.job_id, now)
            if len(page) < PAGE:
                return removed
            after = page[-1].id

    async def _expired(self, upload: Upload, cutoff: datetime, now: datetime) -> bool:
        if upload.job_id is None:
            # Recorded, but the process died before its job was created: no job will read it.
            return upload.created_at <= now - self.orphan_age
        end = await self.find_job(upload.job_id)
        if end is None:
            return True  # archived, JOB_ARCHIVE_AFTER_DAYS after it finished
        return end.finished and end.completed_at is not None and end.completed_at <= cutoff

    async def _remove(self, upload_id: str, job_id: str | None, now: datetime) -> int:
        async with self.sessions.begin() as session:
            if not await ImportRepository(session).claim_upload_removal(upload_id, job_id, now):
                return 0
        # Claimed: should this process die before the unlink, the orphan sweep removes the file.
        try:
            self.store.find(upload_id).unlink(missing_ok=True)
        except NotAnUpload:
            pass  # already gone
        return 1

    async def _remove_orphans(self, now: datetime) -> int:
        old = [f for f in self.store.files() if f.modified <= (now - self.orphan_age).timestamp()]
        partial = [f for f in old if f.partial]
        finished = [f for f in old if not f.partial]
        async with self.sessions() as session:
            named = await ImportRepository(session).live_upload_ids([f.upload_id for f in finished])
        # Unnamed: no upload row, or one whose removal was claimed by a sweep that died before the unlink.
        orphans = partial + [f for f in finished if f.upload_id not in named]
        for entry in orphans:
            _unlink(entry)
        return len(orphans)


def _unlink(entry: StoredEntry) -> None:
    logger.info(
        "removing %s: %s", entry.path.name, "a partial upload" if entry.partial else "no upload names it"
    )
    entry.path.unlink(missing_ok=True)
