"""All SQL the coordinator runs. Status moves are conditional UPDATEs, never read-modify-write.

Methods take the caller's session and only flush; the service layer owns transactions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cocoa_common import jobtypes as jt
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import (
    MAX_EVENT_DETAIL,
    ArchivedJob,
    ArchivedJobItemError,
    Job,
    JobDependency,
    JobEvent,
    JobGroup,
    JobItemError,
    JobQueue,
    JobSchedule,
    Upload,
    UTCDateTime,
)

NOT_TERMINAL = (jt.PENDING, jt.PROCESSING, jt.PAUSED)
# Whose worker's reports are stored (under its lease): a cancelled job's worker still reports the
# batch it was writing when the cancel came, until it stops.
REPORTING = (*NOT_TERMINAL, jt.CANCELLED)


@dataclass(frozen=True, slots=True)
class NewItemError:
    item_ref: str
    code: str
    message: str
    detail: str  # JSON text


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    processed_items: int
    failed_items: int
    total_items: int | None
    checkpoint: str | None  # JSON text; None keeps the stored one
    output_stats: str | None


# A worker's progress report: an event watchers wake for, left out of the history.
PROGRESS_EVENT = "progress"


def utc_text(when: datetime) -> str:
    """A time as event details write it."""
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def event_detail(kind: str, job: Job) -> str | None:
    """What a dispatch event meant, read off the job as the event left it."""
    if kind == "started":
        return f"attempt {job.attempt} on worker {job.worker_id}"
    if kind == "requeued" and job.status != jt.PENDING:
        return f"its worker let go of it while {job.status}"
    if kind == "requeued":
        reason = job.failure_reason or "taken back from its worker"
        if job.available_at is not None:
            return f"{reason}; next attempt after {utc_text(job.available_at)}"
        return reason
    if kind == jt.FAILED:
        return job.failure_reason
    if kind == jt.COMPLETED:
        return f"{job.processed_items} items processed, {job.failed_items} failed"
    return None


@dataclass(frozen=True, slots=True)
class JobQuery:
    """Which jobs a list or a bulk action means; every part that is set must hold."""

    statuses: Sequence[str] = ()
    types: Sequence[str] = ()  # stored names (a type and its aliases)
    created_by_id: str | None = None
    search: str = ""  # a job id, or text in its group, input or failure reason (case-insensitive)
    created_after: datetime | None = None
    created_before: datetime | None = None
    group: str | None = None

    def narrows(self) -> bool:
        return bool(
            self.statuses
            or self.types
            or self.created_by_id
            or self.search
            or self.created_after
            or self.created_before
            or self.group
        )


@dataclass(frozen=True, slots=True)
class Dependency:
    """A job another job waits for, with its status (None once archived, which means completed)."""

    job_id: str
    status: str | None

    @property
    def unfinished(self) -> bool:
        return self.status is not None and self.status != jt.COMPLETED


@dataclass(frozen=True, slots=True)
class Claim:
    job: Job
    lease_id: str


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- creation and reads -------------------------------------------------

    async def find_by_idempotency_key(self, created_by_id: str | None, key: str) -> Job | None:
        stmt = select(Job).where(Job.idempotency_key == key)
        stmt = stmt.where(Job.created_by_id == created_by_id) if created_by_id else stmt
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def find_retry(self, job_id: str) -> Job | None:
        """The job made to retry ``job_id``, if there is one."""
        return (await self.session.execute(select(Job).where(Job.retry_of == job_id))).scalar_one_or_none()

    async def upload(self, upload_id: str) -> Upload | None:
        return await self.session.get(Upload, upload_id)

    async def name_upload_reader(self, upload_id: str, job_id: str) -> bool:
        """Record ``job_id`` as the newest job reading the upload, which keeps its file from the
        retention sweep until that job has been finished long enough; False when the file is gone."""
        result = await self.session.execute(
            update(Upload).where(Upload.id == upload_id, Upload.deleted_at.is_(None)).values(job_id=job_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add(self, job: Job) -> Job:
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: str) -> Job | None:
        return await self.session.get(Job, job_id, populate_existing=True)

    async def list(
        self,
        query: JobQuery,
        *,
        limit: int,
        offset: int,
        unretried_only: bool = False,
        delayed_only: bool = False,
    ) -> tuple[list[Job], int]:
        """A page of jobs, newest first, and how many match; ``unretried_only`` leaves out jobs that
        have a retry already, ``delayed_only`` those that are due (or have no time)."""
        conditions = []
        if delayed_only:
            conditions.append(Job.available_at > utcnow())
        if unretried_only:
            retried = aliased(Job)
            conditions.append(~exists(select(1).select_from(retried).where(retried.retry_of == Job.id)))
        if query.statuses:
            conditions.append(Job.status.in_(query.statuses))
        if query.types:
            conditions.append(Job.type.in_(query.types))
        if query.created_by_id:
            conditions.append(Job.created_by_id == query.created_by_id)
        if query.search:
            # A scan of the live jobs, which archival keeps to recent weeks.
            conditions.append(
                or_(
                    Job.id == query.search,
                    Job.group_key.icontains(query.search, autoescape=True),
                    Job.data.icontains(query.search, autoescape=True),
                    Job.failure_reason.icontains(query.search, autoescape=True),
                )
            )
        if query.created_after is not None:
            conditions.append(Job.created_at >= query.created_after)
        if query.created_before is not None:
            conditions.append(Job.created_at < query.created_before)
        if query.group:
            conditions.append(Job.group_key == query.group)
        where = and_(*conditions) if conditions else and_(True)
        total = (await self.session.execute(select(func.count()).select_from(Job).where(where))).scalar_one()
        rows = await self.session.execute(
            select(Job)
            .where(where)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows.scalars()), int(total)

    # ---- dependencies -----------------------------------------------------------

    async def add_dependencies(self, job_id: str, depends_on: Sequence[str]) -> None:
        if depends_on:
            await self.session.execute(
                insert(JobDependency), [{"job_id": job_id, "depends_on_id": d} for d in depends_on]
            )

    async def statuses(self, job_ids: Sequence[str]) -> dict[str, str]:
        """The status of each of these jobs that is still in the jobs table."""
        rows = await self.session.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids)))
        return {job_id: status for job_id, status in rows}

    async def dependencies(self, job_ids: Sequence[str]) -> dict[str, list[Dependency]]:
        """What each of these jobs waits for, in the order the ids sort."""
        if not job_ids:
            return {}
        rows = await self.session.execute(
            select(JobDependency.job_id, JobDependency.depends_on_id, Job.status)
            .outerjoin(Job, Job.id == JobDependency.depends_on_id)
            .where(JobDependency.job_id.in_(job_ids))
            .order_by(JobDependency.job_id, JobDependency.depends_on_id)
        )
        found: dict[str, list[Dependency]] = {}
        for job_id, depends_on_id, status in rows:
            found.setdefault(job_id, []).append(Dependency(depends_on_id, status))
        return found

    async def release_dependents(self, job_id: str) -> None:
        """A dependency completed (in this transaction): the pending jobs it was the last one
        they waited for count their wait from now (in queue statistics), not from their creation."""
        now = utcnow()
        dependents = select(JobDependency.job_id).where(JobDependency.depends_on_id == job_id)
        await self.session.execute(
            update(Job)
            .where(Job.id.in_(dependents), Job.status == jt.PENDING, ~_waiting_for_dependency())
            .where(or_(Job.available_at.is_(None), Job.available_at < now))
            .values(available_at=now)
            .execution_options(synchronize_session=False)
        )

    async def orphaned(self, limit: int) -> list[tuple[str, str, str]]:
        """(job, its dependency, the dependency's status) for pending or paused jobs one of whose
        dependencies failed or was cancelled: they can never run."""
        parent = aliased(Job)
        rows = await self.session.execute(
            select(JobDependency.job_id, parent.id, parent.status)
            .join(Job, Job.id == JobDependency.job_id)
            .join(parent, parent.id == JobDependency.depends_on_id)
            .where(Job.status.in_((jt.PENDING, jt.PAUSED)), parent.status.in_((jt.FAILED, jt.CANCELLED)))
            .order_by(JobDependency.job_id)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    # ---- queues ---------------------------------------------------------------------

    async def queues(self) -> list[JobQueue]:
        return list((await self.session.execute(select(JobQueue).order_by(JobQueue.type))).scalars())

    async def queue_gate(self, job_type: str) -> tuple[bool, int | None]:
        """Whether the type's queue is paused, and the concurrency limit ops set on it (if any)."""
        row = (
            await self.session.execute(
                select(JobQueue.paused_at, JobQueue.concurrency).where(JobQueue.type == job_type)
            )
        ).first()
        return (False, None) if row is None else (row[0] is not None, row[1])

    async def set_queue_concurrency(self, job_type: str, concurrency: int | None) -> None:
        await self.session.execute(
            update(JobQueue).where(JobQueue.type == job_type).values(concurrency=concurrency)
        )

    async def set_queue_paused(self, job_type: str, paused: bool, by_id: str | None) -> JobQueue | None:
        """Pause or resume a type's queue; a second pause keeps the first one's time and author."""
        stmt = update(JobQueue).where(JobQueue.type == job_type)
        if paused:
            stmt = stmt.where(JobQueue.paused_at.is_(None)).values(paused_at=utcnow(), paused_by_id=by_id)
        else:
            stmt = stmt.values(paused_at=None, paused_by_id=None)
        await self.session.execute(stmt.execution_options(synchronize_session=False))
        return await self.session.get(JobQueue, job_type, populate_existing=True)

    # ---- groups ---------------------------------------------------------------------

    async def paused_groups(self) -> list[str]:
        return list((await self.session.execute(select(JobGroup.group_key))).scalars())

    async def paused_group(self, group: str) -> JobGroup | None:
        return await self.session.get(JobGroup, group, populate_existing=True)

    async def set_group_paused(self, group: str, paused: bool, by_id: str | None) -> None:
        """Pause or resume a group; a second pause keeps the first one's time and author."""
        if not paused:
            await self.session.execute(delete(JobGroup).where(JobGroup.group_key == group))
            return
        postgres = self.session.get_bind().dialect.name == "postgresql"
        stmt = (postgres_insert if postgres else sqlite_insert)(JobGroup).values(
            group_key=group, paused_at=utcnow(), paused_by_id=by_id
        )
        await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["group_key"]))

    async def group_counts(self, limit: int, only: str | None = None) -> list[tuple[str, str, int]]:
        """(group, status, jobs) for the unfinished jobs of up to ``limit`` groups (or ``only`` one)."""
        groups = (
            select(Job.group_key)
            .where(Job.group_key.is_not(None) if only is None else Job.group_key == only)
            .where(Job.status.in_(NOT_TERMINAL))
            .group_by(Job.group_key)
            .order_by(Job.group_key)
            .limit(limit)
            .subquery()
        )
        rows = await self.session.execute(
            select(Job.group_key, Job.status, func.count())
            .where(Job.group_key.in_(select(groups.c.group_key)), Job.status.in_(NOT_TERMINAL))
            .group_by(Job.group_key, Job.status)
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def group_pauses(self) -> list[JobGroup]:
        return list((await self.session.execute(select(JobGroup).order_by(JobGroup.group_key))).scalars())

    # ---- control moves --------------------------------------------------------

    async def _move(
        self, job_id: str, from_statuses: Sequence[str], *conditions: ColumnElement[bool], **values: object
    ) -> Job | None:
        values.setdefault("updated_at", utcnow())
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.status.in_(from_statuses), *conditions)
            .values(**values)
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pause(self, job_id: str) -> Job | None:
        return await self._move(job_id, (jt.PENDING, jt.PROCESSING), status=jt.PAUSED)

    async def resume(self, job_id: str) -> Job | None:
        return await self._move(job_id, (jt.PAUSED,), status=jt.PENDING)

    async def set_priority(self, job_id: str, priority: int) -> Job | None:
        """Only a job still to be claimed: a running one's order no longer matters."""
        return await self._move(job_id, (jt.PENDING, jt.PAUSED), priority=priority)

    async def promote(self, job_id: str) -> Job | None:
        """A pending job not yet due (runAt, or a transient failure's backoff) becomes due now."""
        now = utcnow()
        return await self._move(
            job_id, (jt.PENDING,), Job.available_at > now, available_at=now, updated_at=now
        )

    async def cancel(self, job_id: str) -> Job | None:
        """Cancelled at once; a running job keeps its lease until its worker has stopped, so the
        batch it was writing is still counted and its item errors logged (and its slot stays
        taken until then)."""
        now = utcnow()
        return await self._move(
            job_id, NOT_TERMINAL, status=jt.CANCELLED, cancel_requested_at=now, completed_at=now
        )

    async def cancel_orphan(self, job_id: str, reason: str) -> Job | None:
        """Cancel a job that waits for a dependency that failed or was cancelled; it never ran."""
        return await self._move(
            job_id, (jt.PENDING, jt.PAUSED), status=jt.CANCELLED, failure_reason=reason, completed_at=utcnow()
        )

    async def fail(
        self, job_id: str, reason: str, *, from_statuses: Sequence[str] = NOT_TERMINAL
    ) -> Job | None:
        return await self._move(
            job_id,
            from_statuses,
            status=jt.FAILED,
            failure_reason=reason,
            completed_at=utcnow(),
            lease_id=None,
            lease_expires_at=None,
        )

    # ---- dispatch -------------------------------------------------------------

    async def held_count(self, type_names: Sequence[str]) -> int:
        """Jobs of a type a worker currently holds (processing, or still stopping after a pause)."""
        stmt = (
            select(func.count()).select_from(Job).where(Job.type.in_(type_names), Job.lease_id.is_not(None))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def next_pending(
        self,
        type_names: Sequence[str],
        *,
        skip_locked: bool,
        group_limit: int = 0,
        paused_groups: Sequence[str] = (),
    ) -> Job | None:
        """The next due pending job of the type: highest priority first, then oldest. When pending
        jobs name a group, the group holding the fewest of the type's running jobs goes first
        among equal priorities, so groups take turns; with ``group_limit``, a group already
        holding that many is passed over. Jobs without a group count as one group, with no limit.
        Jobs of ``paused_groups`` wait."""
        stmt = (
            select(Job)
            .where(Job.status == jt.PENDING, Job.type.in_(type_names), Job.lease_id.is_(None))
            .where(or_(Job.available_at.is_(None), Job.available_at <= utcnow()))
            .where(~_waiting_for_dependency())
            .limit(1)
        )
        if paused_groups:
            stmt = stmt.where(or_(Job.group_key.is_(None), Job.group_key.not_in(paused_groups)))
        if await self._any_pending_grouped(type_names):
            held = self._held_by_group(type_names)
            held_n = func.coalesce(held.c.n, 0)
            stmt = stmt.outerjoin(held, held.c.group_key == func.coalesce(Job.group_key, ""))
            stmt = stmt.order_by(Job.priority.desc(), held_n, Job.created_at, Job.id)
            if group_limit:
                stmt = stmt.where(or_(Job.group_key.is_(None), held_n < group_limit))
        else:  # the common case, and the index's order: nothing to share
            stmt = stmt.order_by(Job.priority.desc(), Job.created_at, Job.id)
        if skip_locked:
            stmt = stmt.with_for_update(skip_locked=True, of=Job)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def _any_pending_grouped(self, type_names: Sequence[str]) -> bool:
        """Whether a pending job of the type names a group (a look at ix_jobs_pending_grouped)."""
        stmt = select(Job.id).where(
            Job.group_key.is_not(None), Job.status == jt.PENDING, Job.type.in_(type_names)
        )
        return (await self.session.execute(stmt.limit(1))).first() is not None

    def _held_by_group(self, type_names: Sequence[str]) -> Subquery:
        """How many of the type's jobs each group's workers hold now ("" for jobs without one)."""
        group_key = func.coalesce(Job.group_key, "")
        return (
            select(group_key.label("group_key"), func.count().label("n"))
            .where(Job.type.in_(type_names), Job.lease_id.is_not(None))
            .group_by(group_key)
            .subquery()
        )

    async def claim(self, job_id: str, worker_id: str, lease_seconds: float) -> Claim | None:
        now = utcnow()
        lease_id = new_id()
        job = (
            await self.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == jt.PENDING, Job.lease_id.is_(None))
                .values(
                    status=jt.PROCESSING,
                    lease_id=lease_id,
                    worker_id=worker_id,
                    attempt=case((Job.attempt < 1, 1), else_=Job.attempt),
                    started_at=func.coalesce(Job.started_at, now),
                    available_at=None,
                    heartbeat_at=now,
                    progressed_at=now,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    updated_at=now,
                )
                .returning(Job)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
        ).scalar_one_or_none()
        return Claim(job, lease_id) if job else None

    async def record_progress(
        self,
        job_id: str,
        lease_id: str,
        progress: ProgressUpdate,
        errors: Sequence[NewItemError],
        lease_seconds: float,
    ) -> bool:
        """Store counters, checkpoint and the item errors they cover, atomically; False if the lease is stale."""
        now = utcnow()
        values: dict[str, object] = {
            "processed_items": progress.processed_items,
            "failed_items": progress.failed_items,
            "heartbeat_at": now,
            "progressed_at": now,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
            "updated_at": now,
        }
        if progress.total_items is not None:
            values["total_items"] = progress.total_items
        if progress.checkpoint is not None:
            values["checkpoint"] = progress.checkpoint
        if progress.output_stats is not None:
            values["output_stats"] = progress.output_stats
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_id == lease_id, Job.status.in_(REPORTING))
            .values(**values)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await self.add_item_errors(job_id, errors, now)
        return True

    async def add_item_errors(self, job_id: str, errors: Sequence[NewItemError], now: datetime) -> None:
        if not errors:
            return
        await self.session.execute(
            insert(JobItemError),
            [
                {
                    "job_id": job_id,
                    "item_ref": e.item_ref[:200],
                    "code": e.code[:60],
                    "message": e.message,
                    "detail": e.detail,
                    "created_at": now,
                }
                for e in errors
            ],
        )

    async def renew_leases(self, lease_ids: Sequence[str], lease_seconds: float) -> None:
        if not lease_ids:
            return
        now = utcnow()
        await self.session.execute(
            update(Job)
            .where(Job.lease_id.in_(lease_ids))
            .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False, populate_existing=True)
        )

    async def complete(self, job_id: str, lease_id: str, output_stats: str | None) -> Job | None:
        now = utcnow()
        values: dict[str, object] = {
            "status": jt.COMPLETED,
            "completed_at": now,
            "updated_at": now,
            "lease_id": None,
            "lease_expires_at": None,
        }
        if output_stats is not None:
            values["output_stats"] = output_stats
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.lease_id == lease_id, Job.status == jt.PROCESSING)
            .values(**values)
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def fail_leased(self, job_id: str, lease_id: str, reason: str) -> Job | None:
        now = utcnow()
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.lease_id == lease_id, Job.status.in_(NOT_TERMINAL))
            .values(
                status=jt.FAILED,
                failure_reason=reason,
                completed_at=now,
                updated_at=now,
                lease_id=None,
                lease_expires_at=None,
            )
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def release(self, job_id: str, lease_id: str) -> Job | None:
        """The worker stopped on request: give the job back without changing its status."""
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.lease_id == lease_id)
            .values(lease_id=None, lease_expires_at=None, updated_at=utcnow())
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def requeue_lost(
        self, job_id: str, lease_id: str, reason: str, *, count_attempt: bool, delay_s: float = 0.0
    ) -> tuple[Job | None, bool]:
        """The worker vanished: a processing job goes back to pending (or fails after max attempts),
        to be dispatched again no sooner than ``delay_s`` from now.

        Returns the job with its lease released, and whether this call moved it out of processing
        (a paused or cancelled job only loses its lease)."""
        job = await self.release(job_id, lease_id)
        if job is None or job.status != jt.PROCESSING:
            return job, False
        if count_attempt and job.attempt >= job.max_attempts:
            failed = await self._move(
                job_id,
                (jt.PROCESSING,),
                status=jt.FAILED,
                completed_at=utcnow(),
                failure_reason=f"Gave up after {_attempts(job.attempt)}: {reason}",
            )
            return failed, failed is not None
        requeued = await self._move(
            job_id,
            (jt.PROCESSING,),
            status=jt.PENDING,
            attempt=job.attempt + (1 if count_attempt else 0),
            failure_reason=reason,
            available_at=utcnow() + timedelta(seconds=delay_s) if delay_s > 0 else None,
        )
        return requeued, requeued is not None

    async def expired_leases(self, now: datetime) -> list[tuple[str, str]]:
        rows = await self.session.execute(
            select(Job.id, Job.lease_id).where(Job.lease_id.is_not(None), Job.lease_expires_at < now)
        )
        return [(r[0], r[1]) for r in rows]

    async def all_leases(self) -> list[tuple[str, str]]:
        rows = await self.session.execute(select(Job.id, Job.lease_id).where(Job.lease_id.is_not(None)))
        return [(r[0], r[1]) for r in rows]

    async def stalled(self, before: datetime) -> list[tuple[str, str]]:
        """Held processing jobs whose last progress (or claim) is older than ``before``."""
        rows = await self.session.execute(
            select(Job.id, Job.lease_id).where(
                Job.status == jt.PROCESSING, Job.lease_id.is_not(None), Job.progressed_at < before
            )
        )
        return [(r[0], r[1]) for r in rows]

    async def timed_out(self, now: datetime) -> list[Job]:
        rows = await self.session.execute(
            select(Job).where(Job.status == jt.PROCESSING, Job.started_at.is_not(None))
        )
        return [
            job
            for job in rows.scalars()
            if job.started_at is not None and job.started_at + timedelta(seconds=job.timeout_seconds) < now
        ]

    async def expiring(self, now: datetime, limit: int) -> list[tuple[str, datetime]]:
        """Jobs (id, expires_at) that have not started by their ``expires_at`` (ix_jobs_expiring)."""
        rows = await self.session.execute(
            select(Job.id, Job.expires_at)
            .where(_UNSTARTED_WITH_EXPIRY, Job.expires_at <= now, Job.status.in_((jt.PENDING, jt.PAUSED)))
            .order_by(Job.expires_at)
            .limit(limit)
        )
        return [(job_id, expires_at) for job_id, expires_at in rows.all() if expires_at is not None]

    async def expire(self, job_id: str, now: datetime, reason: str) -> Job | None:
        """Cancel a job that has not started by its ``expires_at``, with ``reason``."""
        return await self._move(
            job_id,
            (jt.PENDING, jt.PAUSED),
            _UNSTARTED_WITH_EXPIRY,
            Job.expires_at <= now,
            status=jt.CANCELLED,
            completed_at=now,
            failure_reason=reason,
        )

    # ---- item errors and events ----------------------------------------------

    async def list_item_errors(self, job_id: str, *, after_seq: int, limit: int) -> list[JobItemError]:
        rows = await self.session.execute(
            select(JobItemError)
            .where(JobItemError.job_id == job_id, JobItemError.id > after_seq)
            .order_by(JobItemError.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def recent_item_errors(self, job_id: str, limit: int = 100) -> list[JobItemError]:
        rows = await self.session.execute(
            select(JobItemError)
            .where(JobItemError.job_id == job_id)
            .order_by(JobItemError.id.desc())
            .limit(limit)
        )
        return list(rows.scalars())

    async def count_item_errors(self, job_id: str) -> int:
        stmt = select(func.count()).select_from(JobItemError).where(JobItemError.job_id == job_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def copy_item_errors(self, source_id: str, job_id: str) -> None:
        """Give a job that resumes another's work that job's item-error ledger, in its order."""
        columns = ("item_ref", "code", "message", "detail", "created_at")
        copied = (
            select(literal(job_id), *(getattr(JobItemError, c) for c in columns))
            .where(JobItemError.job_id == source_id)
            .order_by(JobItemError.id)
        )
        await self.session.execute(insert(JobItemError).from_select(["job_id", *columns], copied))

    async def add_event(
        self, job_id: str, kind: str, detail: str | None = None, *, by_id: str | None = None
    ) -> int:
        """Record a lifecycle event (it wakes watchers and joins the job's history); ``detail``
        says what the kind alone cannot (which worker, why), ``by_id`` who asked for it."""
        values: dict[str, object] = {"job_id": job_id, "kind": kind, "created_at": utcnow()}
        if detail:
            values["detail"] = detail[:MAX_EVENT_DETAIL]
        if by_id:
            values["by_id"] = by_id[:32]
        result = await self.session.execute(insert(JobEvent).values(**values).returning(JobEvent.id))
        return int(result.scalar_one())

    async def history(self, job_id: str, limit: int) -> tuple[list[JobEvent], bool]:
        """The job's latest ``limit`` lifecycle events, oldest first (progress reports left out:
        one a second while it runs), and whether older ones were left out too."""
        rows = await self.session.execute(
            select(JobEvent)
            .where(JobEvent.job_id == job_id, JobEvent.kind != PROGRESS_EVENT)
            .order_by(JobEvent.id.desc())
            .limit(limit + 1)
        )
        events = list(rows.scalars())
        return events[:limit][::-1], len(events) > limit

    async def status_counts(self) -> list[tuple[str, str, int, datetime | None]]:
        """(type as stored, status, jobs, since when the oldest has been waiting) for every live type
        and status; pending jobs waiting for a dependency are counted under ``WAITING``, those not due
        yet under ``SCHEDULED``, and a due job that was delayed, or waited for a dependency, waits
        from its ``available_at``."""
        not_due = and_(Job.status == jt.PENDING, Job.available_at > utcnow())
        waiting = and_(Job.status == jt.PENDING, _waiting_for_dependency())
        jobs = select(
            Job.type.label("type"),
            case((waiting, jt.WAITING), (not_due, jt.SCHEDULED), else_=Job.status).label("status"),
            func.coalesce(Job.available_at, Job.created_at).label("since"),
        ).subquery()
        rows = await self.session.execute(
            select(jobs.c.type, jobs.c.status, func.count(), func.min(jobs.c.since)).group_by(
                jobs.c.type, jobs.c.status
            )
        )
        return [(r[0], r[1], int(r[2]), r[3]) for r in rows]

    async def archive_finished(self, before: datetime, limit: int) -> int:
        """Move up to ``limit`` jobs that finished before ``before`` to the archive tables, item
        errors included; their event history (only for live watchers) is dropped. Finished jobs
        never change again, so nothing can race with the move."""
        finished = (
            select(Job.id)
            .where(Job.status.in_(sorted(jt.TERMINAL)), Job.completed_at < before)
            .order_by(Job.completed_at)
            .limit(limit)
        )
        ids = list((await self.session.execute(finished)).scalars())
        if not ids:
            return 0
        jobs, errors = Job.__table__, JobItemError.__table__
        names = [c.name for c in jobs.columns]
        moved = select(*jobs.columns, literal(utcnow(), UTCDateTime())).where(jobs.c.id.in_(ids))
        await self.session.execute(insert(ArchivedJob).from_select([*names, "archived_at"], moved))
        error_rows = select(*errors.columns).where(errors.c.job_id.in_(ids))
        await self.session.execute(
            insert(ArchivedJobItemError).from_select([c.name for c in errors.columns], error_rows)
        )
        for table in (JobEvent.__table__, JobDependency.__table__, errors):
            await self.session.execute(delete(table).where(table.c.job_id.in_(ids)))
        await self.session.execute(delete(jobs).where(jobs.c.id.in_(ids)))
        return len(ids)

    async def events_after(self, job_id: str, after_seq: int, limit: int = 500) -> list[JobEvent]:
        rows = await self.session.execute(
            select(JobEvent)
            .where(JobEvent.job_id == job_id, JobEvent.id > after_seq)
            .order_by(JobEvent.id)
            .limit(limit)
        )
        return list(rows.scalars())


class ScheduleRepository:
    """The job_schedules table. Methods only flush; the schedule service owns transactions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, schedule: JobSchedule) -> JobSchedule:
        self.session.add(schedule)
        await self.session.flush()
        return schedule

    async def get(self, schedule_id: str) -> JobSchedule | None:
        return await self.session.get(JobSchedule, schedule_id, populate_existing=True)

    async def all(self) -> list[JobSchedule]:
        rows = await self.session.execute(
            select(JobSchedule).order_by(JobSchedule.created_at, JobSchedule.id)
        )
        return list(rows.scalars())

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(JobSchedule))).scalar_one())

    async def delete(self, schedule_id: str) -> None:
        await self.session.execute(delete(JobSchedule).where(JobSchedule.id == schedule_id))

    async def update(self, schedule_id: str, **values: object) -> JobSchedule | None:
        values.setdefault("updated_at", utcnow())
        stmt = (
            update(JobSchedule)
            .where(JobSchedule.id == schedule_id)
            .values(**values)
            .returning(JobSchedule)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def due(self, now: datetime, limit: int) -> list[JobSchedule]:
        """Unpaused schedules whose next time has come, the most overdue first."""
        rows = await self.session.execute(
            select(JobSchedule)
            .where(JobSchedule.paused_at.is_(None), JobSchedule.next_run_at <= now)
            .order_by(JobSchedule.next_run_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def record_run(self, schedule_id: str, was_due_at: datetime, **values: object) -> bool:
        """Store what a due time led to and the next time; False if another run stored it first."""
        values.setdefault("updated_at", utcnow())
        result = await self.session.execute(
            update(JobSchedule)
            .where(JobSchedule.id == schedule_id, JobSchedule.next_run_at == was_due_at)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


# The partial index ix_jobs_expiring covers exactly these rows.
_UNSTARTED_WITH_EXPIRY = and_(Job.expires_at.is_not(None), Job.started_at.is_(None))


def _waiting_for_dependency() -> ColumnElement[bool]:
    """True for a job with a dependency that has not completed (an archived one has)."""
    parent = aliased(Job)
    return exists(
        select(1)
        .select_from(JobDependency)
        .join(parent, parent.id == JobDependency.depends_on_id)
        .where(JobDependency.job_id == Job.id, parent.status != jt.COMPLETED)
    )


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"
