"""Archival: long-finished jobs move to archived_jobs with their item errors; nothing else moves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import db
from cocoa_common import jobtypes as jt
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import ArchivedJob, ArchivedJobItemError, Job, JobEvent, JobItemError
from cocoa_common.settings import Settings
from cocoa_coordinator.archive import archive_finished
from cocoa_coordinator.server import start_coordinator

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    engine = db.create_engine(settings.database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def add_job(sessions: Sessions, status: str, finished_days_ago: float | None, errors: int = 0) -> str:
    now = utcnow()
    finished = now - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    job = Job(id=new_id(), type="geocoding", status=status, data=json.dumps({"city": "Durham"}),
              output_stats="{}", processed_items=5, failed_items=errors, attempt=1, max_attempts=3,
              timeout_seconds=60.0, created_at=now - timedelta(days=40), completed_at=finished,
              updated_at=finished or now)  # fmt: skip
    async with sessions.begin() as session:
        session.add(job)
        await session.flush()
        session.add(JobEvent(job_id=job.id, kind="created", created_at=now))
        for i in range(errors):
            session.add(JobItemError(job_id=job.id, item_ref=f"item-{i}", code="bad", message="bad item",
                                     detail="{}", created_at=now))  # fmt: skip
    return job.id


async def count(sessions: Sessions, model: type, job_id: str) -> int:
    async with sessions() as session:
        column = model.id if model in (Job, ArchivedJob) else model.job_id
        return int((await session.execute(select(func.count()).where(column == job_id))).scalar_one())


async def test_a_job_finished_before_the_cutoff_moves_with_its_item_errors(sessions: Sessions) -> None:
    job_id = await add_job(sessions, jt.COMPLETED, finished_days_ago=31, errors=3)
    assert await archive_finished(sessions, timedelta(days=30)) == 1
    assert (await count(sessions, Job, job_id), await count(sessions, ArchivedJob, job_id)) == (0, 1)
    assert await count(sessions, JobItemError, job_id) == 0
    assert await count(sessions, ArchivedJobItemError, job_id) == 3
    assert await count(sessions, JobEvent, job_id) == 0


async def test_an_archived_job_keeps_every_field(sessions: Sessions) -> None:
    job_id = await add_job(sessions, jt.FAILED, finished_days_ago=45, errors=1)
    async with sessions() as session:
        before = {c.name: getattr(await session.get(Job, job_id), c.name) for c in Job.__table__.columns}
    await archive_finished(sessions, timedelta(days=30))
    async with sessions() as session:
        archived = await session.get(ArchivedJob, job_id)
        assert archived is not None
        assert {name: getattr(archived, name) for name in before} == before
        assert archived.archived_at > before["completed_at"]


@pytest.mark.parametrize("status", [jt.PENDING, jt.PROCESSING, jt.PAUSED])
async def test_an_unfinished_job_is_never_archived(sessions: Sessions, status: str) -> None:
    job_id = await add_job(sessions, status, finished_days_ago=None)
    async with sessions.begin() as session:
        old = await session.get(Job, job_id)
        assert old is not None
        old.updated_at = utcnow() - timedelta(days=90)
    assert await archive_finished(sessions, timedelta(days=30)) == 0
    assert await count(sessions, Job, job_id) == 1


async def test_a_recently_finished_job_stays(sessions: Sessions) -> None:
    job_id = await add_job(sessions, jt.CANCELLED, finished_days_ago=29)
    assert await archive_finished(sessions, timedelta(days=30)) == 0
    assert await count(sessions, Job, job_id) == 1


async def test_archival_stops_at_max_jobs_and_the_next_run_takes_the_rest(sessions: Sessions) -> None:
    for _ in range(25):
        await add_job(sessions, jt.COMPLETED, finished_days_ago=60)
    assert await archive_finished(sessions, timedelta(days=30), max_jobs=21) == 21
    assert await archive_finished(sessions, timedelta(days=30)) == 4


async def test_an_archived_job_is_no_longer_served(
    sessions: Sessions, stub: pb_grpc.CoordinatorServiceStub
) -> None:
    job_id = await add_job(sessions, jt.COMPLETED, finished_days_ago=31)
    await archive_finished(sessions, timedelta(days=30))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetJob(pb.GetJobRequest(id=job_id))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await stub.ListJobs(pb.ListJobsRequest(limit=50))
    assert job_id not in {j.id for j in listed.jobs}


async def _after_coordinator_ran(settings: Settings, sessions: Sessions, job_id: str) -> int:
    """How many live jobs with ``job_id`` remain after a coordinator with ``settings`` ran a while."""
    app = await start_coordinator(settings.with_overrides(archive_interval_s=0.05), "127.0.0.1:0")
    try:
        for _ in range(40):
            if await count(sessions, Job, job_id) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await app.stop(grace=0.5)
    return await count(sessions, Job, job_id)


async def test_the_coordinator_archives_on_its_own(settings: Settings, sessions: Sessions) -> None:
    job_id = await add_job(sessions, jt.COMPLETED, finished_days_ago=31)
    assert await _after_coordinator_ran(settings.with_overrides(archive_after_days=30), sessions, job_id) == 0


async def test_archive_after_days_zero_turns_archival_off(settings: Settings, sessions: Sessions) -> None:
    job_id = await add_job(sessions, jt.COMPLETED, finished_days_ago=365)
    assert await _after_coordinator_ran(settings.with_overrides(archive_after_days=0), sessions, job_id) == 1
