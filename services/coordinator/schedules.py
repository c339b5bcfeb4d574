"""Recurring jobs: cron schedules the coordinator turns into jobs when they come due.

As BullMQ's job schedulers, Celery beat and Temporal schedules do, a schedule stores a cron
expression with its time zone and the job to create. When a time comes the coordinator creates the
job through the same code as ``CreateJob`` (so it is validated, audited by type and dispatched like
any other), unless the job the schedule created last is still unfinished: that time is skipped
and counted (Temporal's default overlap policy). Times missed while the coordinator was down are
not made up: the next time is always counted from now.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import db, errors
from cocoa_common import jobtypes as jt
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import JobSchedule
from cocoa_coordinator.repository import JobRepository, ScheduleRepository
from cocoa_coordinator.service import JobService

logger = logging.getLogger(__name__)

MAX_SCHEDULES = 1000
MAX_NAME = 100
MAX_CRON = 120
DUE_BATCH = 100  # schedules fired per pass
POLL_SECONDS = 1.0
MAX_ZONE = 64
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


def next_time(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time after ``after`` that ``cron`` names in ``timezone``, in UTC."""
    unknown = errors.InvalidArgument(
        f"Unknown time zone: {timezone[:64]!r} (use an IANA name such as America/New_York)", field="timezone"
    )
    if len(timezone) > MAX_ZONE or not _ZONE_NAME.fullmatch(timezone):  # the name is a path in tzdata
        raise unknown
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise unknown from None
    try:
        times = CronSim(cron, after.astimezone(zone))
    except CronSimError as exc:
        raise errors.InvalidArgument(f"Invalid cron expression {cron!r}: {exc}", field="cron") from None
    try:
        return next(times).astimezone(UTC)
    except StopIteration:
        raise errors.InvalidArgument(
            f"The cron expression {cron!r} names no time in the next 50 years", field="cron"
        ) from None


class ScheduleService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], jobs: JobService, deadline_s: float = 30.0
    ) -> None:
        self.sessions = sessions
        self.jobs = jobs
        self.deadline_s = deadline_s  # for each pass over the due schedules (see db.within_deadline)

    async def create(
        self,
        *,
        name: str,
        cron: str,
        timezone: str,
        job_type: str,
        data_json: str,
        is_dynamic: bool = False,
        priority: int = 0,
        created_by_id: str | None = None,
        max_attempts: int | None = None,
        timeout_seconds: int | None = None,
        expires_after_s: int | None = None,
        group: str | None = None,
    ) -> JobSchedule:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise errors.InvalidArgument(f"name must be 1 to {MAX_NAME} characters", field="name")
        cron = " ".join(cron.split())
        if not cron or len(cron) > MAX_CRON:
            raise errors.InvalidArgument(f"cron must be 1 to {MAX_CRON} characters", field="cron")
        timezone = timezone.strip() or "UTC"
        jt.check_priority(priority)
        jt.check_limits(max_attempts, timeout_seconds)
        jt.check_expires_after(expires_after_s)
        group = jt.group_of(group)
        now = utcnow()
        first = next_time(cron, timezone, now)
        _, data, _ = await self.jobs.check_input(job_type, data_json)  # what each time will create
        async with self.sessions.begin() as session:
            repo = ScheduleRepository(session)
            if await repo.count() >= MAX_SCHEDULES:
                raise errors.InvalidArgument(
                    f"There are {MAX_SCHEDULES} schedules already; delete some first"
                )
            return await repo.add(
                JobSchedule(
                    id=new_id(),
                    name=name,
                    cron=cron,
                    timezone=timezone,
                    type=job_type,
                    data=json.dumps(data, separators=(",", ":")),
                    is_dynamic=is_dynamic,
                    priority=priority,
                    max_attempts=max_attempts,
                    timeout_seconds=timeout_seconds,
                    expires_after_s=expires_after_s,
                    group_key=group,
                    created_by_id=created_by_id,
                    next_run_at=first,
                    skipped_runs=0,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def list(self) -> list[JobSchedule]:
        async with self.sessions() as session:
            return await ScheduleRepository(session).all()

    async def get(self, schedule_id: str) -> JobSchedule:
        async with self.sessions() as session:
            schedule = await ScheduleRepository(session).get(schedule_id)
        if schedule is None:
            raise errors.NotFound("Schedule not found")
        return schedule

    async def delete(self, schedule_id: str) -> JobSchedule:
        """Remove a schedule; the jobs it created stay as they are."""
        async with self.sessions.begin() as session:
            repo = ScheduleRepository(session)
            schedule = await repo.get(schedule_id)
            if schedule is None:
                raise errors.NotFound("Schedule not found")
            await repo.delete(schedule_id)
        return schedule

    async def set_paused(self, schedule_id: str, paused: bool) -> JobSchedule:
        """A paused schedule creates nothing; resuming it counts its next time from now."""
        schedule = await self.get(schedule_id)
        if paused == (schedule.paused_at is not None):
            return schedule
        now = utcnow()
        values: dict[str, object] = (
            {"paused_at": now}
            if paused
            else {
                "paused_at": None,
                "next_run_at": next_time(schedule.cron, schedule.timezone, now),
            }
        )
        async with self.sessions.begin() as session:
            updated = await ScheduleRepository(session).update(schedule_id, **values)
        if updated is None:
            raise errors.NotFound("Schedule not found")
        return updated

    async def run_due(self) -> int:
        """Create the job of every schedule whose time has come; returns how many were due."""
        now = utcnow()
        async with self.sessions() as session:
            due = await ScheduleRepository(session).due(now, DUE_BATCH)
        for schedule in due:
            await self._run(schedule, now)
        return len(due)

    async def _run(self, schedule: JobSchedule, now: datetime) -> None:
        values: dict[str, object] = {"next_run_at": next_time(schedule.cron, schedule.timezone, now)}
        if await self._still_running(schedule.last_job_id):
            values["skipped_runs"] = schedule.skipped_runs + 1
        else:
            try:
                job, _ = await self.jobs.create(
                    schedule.type,
                    schedule.data,
                    is_dynamic=schedule.is_dynamic,
                    created_by_id=schedule.created_by_id,
                    # One job per due time, even if two passes raced to create it.
                    idempotency_key=f"schedule:{schedule.id}:{schedule.next_run_at.isoformat()}",
                    priority=schedule.priority,
                    max_attempts=schedule.max_attempts,
                    timeout_seconds=schedule.timeout_seconds,
                    expires_at=now + timedelta(seconds=schedule.expires_after_s)
                    if schedule.expires_after_s
                    else None,
                    origin=f"schedule {schedule.name!r} ({schedule.id})",
                    group=schedule.group_key,
                )
                values |= {"last_job_id": job.id, "last_run_at": now, "last_error": None}
            except errors.CocoaError as exc:  # its upload was removed, say: reported, tried next time
                values |= {"last_run_at": now, "last_error": exc.message}
                logger.warning("schedule %s created no job: %s", schedule.id, exc.message)
        async with self.sessions.begin() as session:
            await ScheduleRepository(session).record_run(schedule.id, schedule.next_run_at, **values)

    async def _still_running(self, job_id: str | None) -> bool:
        if job_id is None:
            return False
        async with self.sessions() as session:
            job = await JobRepository(session).get(job_id)
        return job is not None and job.status not in jt.TERMINAL

    async def run_forever(self) -> None:
        while True:
            try:
                await db.within_deadline(self.sessions.kw["bind"], self.deadline_s, self.run_due())
            except Exception:
                logger.exception("running due schedules failed; retrying")
            await asyncio.sleep(POLL_SECONDS)
