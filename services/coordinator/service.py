"""The job lifecycle as seen by callers: create, read, list, control, watch, item errors."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors, jsontext
from cocoa_common import jobtypes as jt
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import Job, JobEvent, JobGroup, JobItemError
from cocoa_common.settings import Settings
from cocoa_coordinator.events import EventHub
from cocoa_coordinator.lifecycle import JobLifecycle
from cocoa_coordinator.repository import NOT_TERMINAL, Dependency, JobQuery, JobRepository, utc_text

logger = logging.getLogger(__name__)

MAX_DATA_BYTES = 1024 * 1024
MAX_LIST_LIMIT = 200
MAX_ERRORS_PAGE = 1000
CONTROL_ACTIONS = ("pause", "resume", "cancel")
RETRYABLE = (jt.FAILED, jt.CANCELLED)
# What a bulk action applies to: a filter picks only the jobs it can move.
BULK_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "pause": (jt.PENDING, jt.PROCESSING),
    "resume": (jt.PAUSED,),
    "cancel": (jt.PENDING, jt.PROCESSING, jt.PAUSED),
    "retry": RETRYABLE,
    "promote": (jt.PENDING,),  # those not yet due
}
MAX_BULK = 200
MAX_SEARCH = 200
MAX_HISTORY = 500
MAX_CONCURRENCY = 1000
# Where each import's file is uploaded: its job names that upload by id.
UPLOAD_ROUTES = {
    jt.VOTER_IMPORT: "POST /api/v1/voters/import",
    jt.PARCEL_IMPORT: "POST /api/v1/gis/parcels/import",
}


@dataclass
class TypeCounts:
    """A canonical job type's live jobs by status, and how long its oldest pending job has waited."""

    by_status: dict[str, int]
    oldest_pending_s: float = 0.0
    paused_at: datetime | None = None  # the type's queue is paused: none of its jobs is dispatched
    paused_by_id: str | None = None
    concurrency: int | None = None  # set by ops at run time; None: JOB_CONCURRENCY's value


@dataclass
class GroupCounts:
    """A job group's unfinished jobs by status, and whether ops paused it."""

    group: str
    by_status: dict[str, int]
    paused_at: datetime | None = None
    paused_by_id: str | None = None


MAX_GROUPS_LISTED = 200


def _group_counts(name: str, rows: Sequence[tuple[str, str, int]], pause: JobGroup | None) -> GroupCounts:
    """A group's entry from (group, status, jobs) rows and its pause, if any."""
    counts = GroupCounts(name, dict.fromkeys(NOT_TERMINAL, 0))
    counts.by_status.update({status: n for group, status, n in rows if group == name})
    if pause is not None:
        counts.paused_at, counts.paused_by_id = pause.paused_at, pause.paused_by_id
    return counts


@dataclass(frozen=True, slots=True)
class BulkResult:
    """One job of a bulk action: the job after the move (for a retry, the retry), or why not."""

    job_id: str
    job: Job | None
    error: str = ""
    created: bool = False


@dataclass(frozen=True, slots=True)
class JobView:
    job: Job
    recent_errors: Sequence[JobItemError] = ()
    dependencies: Sequence[Dependency] = ()


class JobService:
    """Plain domain code behind the coordinator's RPCs."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        hub: EventHub,
        on_stop: Callable[[str, str, str], None],
        on_change: Callable[[], None],
        lifecycle: JobLifecycle,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.lifecycle = lifecycle  # counts the moves made here (a cancel before any worker ran it)
        self._on_stop = on_stop  # tells the holding worker to stop (pause/cancel)
        self._on_change = on_change  # wakes the scheduler

    async def create(
        self,
        job_type: str,
        data_json: str,
        *,
        is_dynamic: bool = False,
        created_by_id: str | None = None,
        idempotency_key: str | None = None,
        priority: int = 0,
        retry_of: str | None = None,
        run_at: datetime | None = None,
        depends_on: Sequence[str] = (),
        origin: str | None = None,
        resume: Job | None = None,
        max_attempts: int | None = None,
        timeout_seconds: float | None = None,
        limits_of: Job | None = None,
        expires_at: datetime | None = None,
        group: str | None = None,
    ) -> tuple[Job, bool]:
        """A new pending job (or the one an idempotency key or retry made first, with False);
        ``origin`` says in its history what made it when no user did (a schedule); with ``resume``
        it carries on from that job's checkpoint, with its counts and item errors. Without its own
        ``max_attempts`` and ``timeout_seconds``, it takes those of ``limits_of`` (the job a retry
        retries, whatever the settings were then), else the settings' for its type. Jobs of
        different ``group``s take turns at their queue (see ``JobRepository.next_pending``)."""
        canonical, data, upload_id = await self.check_input(job_type, data_json)
        if idempotency_key:
            existing = await self._by_idempotency_key(created_by_id, idempotency_key)
            if existing is not None:
                return existing, False
        now = utcnow()
        jt.check_run_at(run_at)
        jt.check_priority(priority)
        jt.check_limits(max_attempts, timeout_seconds)
        jt.check_expiry(expires_at, run_at)
        group = jt.group_of(group)
        depends_on = await self._check_dependencies(depends_on)
        job = Job(
            id=new_id(),
            type=job_type,
            status=jt.PENDING,
            is_dynamic=is_dynamic,
            priority=priority,
            data=json.dumps(data, separators=(",", ":")),
            output_stats="{}",
            created_by_id=created_by_id or None,
            idempotency_key=idempotency_key or None,
            retry_of=retry_of,
            available_at=run_at if run_at is not None and run_at > now else None,
            expires_at=expires_at,
            group_key=group,
            attempt=0,
            max_attempts=max_attempts
            or (limits_of.max_attempts if limits_of else self.settings.max_attempts),
            timeout_seconds=timeout_seconds
            or (limits_of.timeout_seconds if limits_of else self.settings.timeout_for(canonical)),
            processed_items=0,
            failed_items=0,
            created_at=now,
            updated_at=now,
        )
        if resume is not None:
            _take_over(job, resume)
        try:
            async with self.sessions.begin() as session:
                repo = JobRepository(session)
                await repo.add(job)
                if resume is not None:
                    await repo.copy_item_errors(resume.id, job.id)
                await repo.add_dependencies(job.id, depends_on)
                if upload_id is not None and not await repo.name_upload_reader(upload_id, job.id):
                    raise _upload_removed(upload_id)  # by the retention sweep, since the check above
                detail = _created_detail(job, depends_on, origin)
                await repo.add_event(job.id, "created", detail, by_id=created_by_id)
        except IntegrityError:
            # Two requests raced with one idempotency key, or to retry one job: the first one wins.
            existing = await self._created_first(created_by_id, idempotency_key, retry_of)
            if existing is None:
                raise
            return existing, False
        logger.info("job %s created: %s by %s", job.id, job.type, created_by_id or origin or "a service")
        self._on_change()
        return job, True

    async def check_input(self, job_type: str, data_json: str) -> tuple[str, dict[str, object], str | None]:
        """A new job's canonical type, its data as an object, and the upload it reads (imports): a
        400 for an unknown type, data that is not a JSON object, or an import without its upload."""
        canonical = jt.canonical(job_type)
        if canonical is None:
            known = ", ".join(jt.KNOWN_TYPES)
            raise errors.InvalidArgument(f"Unknown job type: {job_type}. Known types: {known}", field="type")
        data = _parse_data(data_json)
        upload_id = None
        if canonical in (jt.VOTER_IMPORT, jt.PARCEL_IMPORT):
            upload_id = await self._check_upload(canonical, data.get("uploadId"))
        return canonical, data, upload_id

    async def _check_upload(self, kind: str, upload_id: object) -> str:
        """An import job reads the file its ``data.uploadId`` names, so that must be a stored upload
        made for this kind of import: refused now, rather than a job that fails when a worker takes it."""
        route = UPLOAD_ROUTES[kind]
        if not isinstance(upload_id, str) or not upload_id:
            raise errors.InvalidArgument(
                f"A {kind} job reads an uploaded file: data.uploadId is required (upload it with {route})",
                field="data.uploadId",
            )
        async with self.sessions() as session:
            upload = await JobRepository(session).upload(upload_id[:32])
        if upload is None or upload.kind != kind or len(upload_id) > 32:
            raise errors.InvalidArgument(
                f"data.uploadId {upload_id[:40]!r} names no file uploaded for a {kind} job (upload it with {route})",
                field="data.uploadId",
            )
        if upload.deleted_at is not None:
            raise _upload_removed(upload_id)
        return upload_id

    async def _check_dependencies(self, depends_on: Sequence[str]) -> list[str]:
        """The distinct jobs a new job waits for: each must exist and may not have failed or been
        cancelled (the new job could never run)."""
        wanted = sorted(set(depends_on))
        if len(wanted) > jt.MAX_DEPENDENCIES:
            raise errors.InvalidArgument(
                f"dependsOn names at most {jt.MAX_DEPENDENCIES} jobs", field="dependsOn"
            )
        if not wanted:
            return []
        async with self.sessions() as session:
            statuses = await JobRepository(session).statuses(wanted)
        for job_id in wanted:
            status = statuses.get(job_id)
            if status is None:
                raise errors.InvalidArgument(f"dependsOn names no job: {job_id[:40]!r}", field="dependsOn")
            if status in RETRYABLE:
                raise errors.InvalidArgument(
                    f"dependsOn names job {job_id}, which is {status}: a job waiting for it would never run"
                    " (retry it, then wait for the retry)",
                    field="dependsOn",
                )
        return wanted

    async def _by_idempotency_key(self, created_by_id: str | None, key: str) -> Job | None:
        async with self.sessions() as session:
            return await JobRepository(session).find_by_idempotency_key(created_by_id, key)

    async def _created_first(
        self, created_by_id: str | None, idempotency_key: str | None, retry_of: str | None
    ) -> Job | None:
        """The job a racing request created with the same retry source or idempotency key."""
        if idempotency_key and not retry_of:
            return await self._by_idempotency_key(created_by_id, idempotency_key)
        if not retry_of:
            return None
        async with self.sessions() as session:
            return await JobRepository(session).find_retry(retry_of)

    async def retry(
        self,
        job_id: str,
        *,
        created_by_id: str | None = None,
        from_checkpoint: bool = False,
        max_attempts: int | None = None,
        timeout_seconds: float | None = None,
    ) -> tuple[Job, bool]:
        """A new job with a failed or cancelled job's type, input, priority, group and limits (unless
        given new ones), starting afresh (imports upsert, so a rerun creates nothing twice), or
        ``from_checkpoint`` where the job stopped. A job is retried at most once: asking again
        answers that first retry, so a double click makes one job."""
        async with self.sessions() as session:
            repo = JobRepository(session)
            source = await repo.get(job_id)
            if source is None:
                raise errors.NotFound("Job not found")
            if source.status not in RETRYABLE:
                raise errors.InvalidTransition(f"Cannot retry job with status: {source.status}")
            existing = await repo.find_retry(job_id)
            depends_on = await _latest_retries(repo, source.id)
        if existing is not None:
            return existing, False
        if from_checkpoint and not source.checkpoint:
            raise errors.InvalidArgument(
                f"Job {source.id} stopped before its first checkpoint: retry it from the start",
                field="fromCheckpoint",
            )
        return await self.create(
            source.type,
            source.data,
            is_dynamic=source.is_dynamic,
            created_by_id=created_by_id,
            priority=source.priority,
            retry_of=source.id,
            depends_on=depends_on,
            resume=source if from_checkpoint else None,
            max_attempts=max_attempts,
            timeout_seconds=timeout_seconds,
            limits_of=source,
            group=source.group_key,
        )

    async def view(self, job: Job) -> JobView:
        """A job just read or moved, with what it waits for (no item errors)."""
        async with self.sessions() as session:
            waits = await JobRepository(session).dependencies([job.id])
        return JobView(job, (), waits.get(job.id, ()))

    async def get(self, job_id: str, *, include_errors: bool = True) -> JobView:
        async with self.sessions() as session:
            return await _view(JobRepository(session), job_id, include_errors=include_errors)

    async def list(
        self, query: JobQuery, *, limit: int, offset: int, include_errors: bool = False
    ) -> tuple[list[JobView], int]:
        query = self._checked(query)
        limit, offset = errors.page_bounds(limit, offset, MAX_LIST_LIMIT)
        async with self.sessions() as session:
            repo = JobRepository(session)
            jobs, total = await repo.list(query, limit=limit, offset=offset)
            waits = await repo.dependencies([job.id for job in jobs])
            views = [
                await _with_errors(
                    repo, job, include_errors=include_errors, dependencies=waits.get(job.id, ())
                )
                for job in jobs
            ]
        return views, total

    @staticmethod
    def _checked(query: JobQuery) -> JobQuery:
        """The query with every stored name of its types (a type and its aliases); 400 for an
        unknown status or type, or a search over MAX_SEARCH characters."""
        for status in query.statuses:
            if status not in jt.STATUSES:
                raise errors.InvalidArgument(f"Invalid status: {status}", field="status")
        names: list[str] = []
        for job_type in query.types:
            if jt.canonical(job_type) is None:
                raise errors.InvalidArgument(f"Invalid type: {job_type}", field="type")
            names.extend(jt.names_of(job_type))
        if len(query.search) > MAX_SEARCH:
            raise errors.InvalidArgument(f"search is at most {MAX_SEARCH} characters", field="search")
        return replace(query, types=names, search=query.search.strip())

    async def counts(self) -> dict[str, TypeCounts]:
        """Every known type (aliases folded in), with zeros where nothing is queued."""
        async with self.sessions() as session:
            repo = JobRepository(session)
            rows = await repo.status_counts()
            queues = {q.type: q for q in await repo.queues()}
        now = utcnow()
        counts = {
            name: TypeCounts(dict.fromkeys((*jt.STATUSES, jt.SCHEDULED, jt.WAITING), 0))
            for name in sorted(set(jt.ALIASES.values()))
        }
        for name, entry in counts.items():
            if (queue := queues.get(name)) is not None:
                entry.paused_at, entry.paused_by_id = queue.paused_at, queue.paused_by_id
                entry.concurrency = queue.concurrency
        for stored_type, status, n, oldest in rows:
            entry = counts.get(jt.canonical(stored_type) or "")
            if entry is None or status not in entry.by_status:
                continue
            entry.by_status[status] += n
            if status == jt.PENDING and oldest is not None:
                entry.oldest_pending_s = max(entry.oldest_pending_s, (now - oldest).total_seconds())
        return counts

    async def set_queue_paused(self, job_type: str, paused: bool, *, by_id: str | None = None) -> str:
        """Pause or resume the queue of a type (or alias); returns the canonical type."""
        canonical = jt.canonical(job_type)
        if canonical is None:
            raise errors.NotFound(f"Unknown queue: {job_type[:60]}")
        async with self.sessions.begin() as session:
            await JobRepository(session).set_queue_paused(canonical, paused, by_id)
        if not paused:
            self._on_change()  # its pending jobs can go now
        return canonical

    async def groups(self) -> list[GroupCounts]:
        """The groups with unfinished jobs (the first MAX_GROUPS_LISTED by name), and every paused one."""
        async with self.sessions() as session:
            repo = JobRepository(session)
            rows = await repo.group_counts(MAX_GROUPS_LISTED)
            pauses = {g.group_key: g for g in await repo.group_pauses()}
        names = sorted({r[0] for r in rows} | set(pauses))
        return [_group_counts(name, rows, pauses.get(name)) for name in names]

    async def set_group_paused(self, group: str, paused: bool, *, by_id: str | None = None) -> GroupCounts:
        """Pause or resume a group: while paused, none of its pending jobs (of any type) starts."""
        name = jt.group_of(group)
        if name is None:
            raise errors.InvalidArgument("group is required", field="group")
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            await repo.set_group_paused(name, paused, by_id)
            rows = await repo.group_counts(1, only=name)
            pause = await repo.paused_group(name)
        logger.info("group %r %s by %s", name, "paused" if paused else "resumed", by_id or "-")
        if not paused:
            self._on_change()  # its pending jobs can go now
        return _group_counts(name, rows, pause)

    async def set_queue_concurrency(self, job_type: str, concurrency: int | None) -> str:
        """How many jobs of a type (or alias) may run at once; None goes back to JOB_CONCURRENCY's
        value. Running jobs are not stopped when it is lowered; fewer start until it is met."""
        canonical = jt.canonical(job_type)
        if canonical is None:
            raise errors.NotFound(f"Unknown queue: {job_type[:60]}")
        if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
            raise errors.InvalidArgument(
                f"concurrency must be an integer between 1 and {MAX_CONCURRENCY}", field="concurrency"
            )
        async with self.sessions.begin() as session:
            await JobRepository(session).set_queue_concurrency(canonical, concurrency)
        self._on_change()  # a raised limit lets more start now
        return canonical

    async def control(self, job_id: str, action: str, *, requested_by_id: str | None = None) -> Job:
        if action not in CONTROL_ACTIONS:
            raise errors.InvalidArgument("Invalid action. Expected pause, resume, or cancel.", field="action")
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            before = await repo.get(job_id)
            if before is None:
                raise errors.NotFound("Job not found")
            held_lease = before.lease_id  # read now: the move below refreshes this same object
            moved = await getattr(repo, action)(job_id)
            if moved is None:
                current = await repo.get(job_id)
                status = current.status if current else "unknown"
                raise errors.InvalidTransition(f"Cannot {action} job with status: {status}")
            kind = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
            await repo.add_event(job_id, kind, by_id=requested_by_id)
        logger.info("job %s %s by %s", job_id, kind, requested_by_id or "a service")
        self.lifecycle.moved(moved)
        if action in ("pause", "cancel") and held_lease:
            self._on_stop(job_id, held_lease, action)
        self.hub.publish(job_id)
        self._on_change()
        return moved

    async def set_priority(self, job_id: str, priority: int, *, requested_by_id: str | None = None) -> Job:
        """Change where a pending or paused job stands in its queue (BullMQ's changePriority)."""
        jt.check_priority(priority)
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            before = await repo.get(job_id)
            old_priority = before.priority if before is not None else 0  # the move refreshes `before`
            moved = await repo.set_priority(job_id, priority)
            if moved is None:
                current = await repo.get(job_id)
                if current is None:
                    raise errors.NotFound("Job not found")
                raise errors.InvalidTransition(
                    f"Cannot change the priority of job with status: {current.status}"
                )
            detail = f"priority {old_priority} → {priority}"
            await repo.add_event(job_id, "reprioritized", detail, by_id=requested_by_id)
        self.hub.publish(job_id)
        self._on_change()
        return moved

    async def promote(self, job_id: str, *, requested_by_id: str | None = None) -> Job:
        """Run a delayed job now (BullMQ's promote): a pending job not yet due, through ``runAt``
        or a backoff, becomes due at once; it still waits for its dependencies."""
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            before = await repo.get(job_id)
            if before is None:
                raise errors.NotFound("Job not found")
            due_at = before.available_at  # the move refreshes `before`
            moved = await repo.promote(job_id)
            if moved is None:
                if before.status != jt.PENDING:
                    raise errors.InvalidTransition(f"Cannot promote job with status: {before.status}")
                raise errors.InvalidTransition(f"Job {job_id} is not delayed: it runs as soon as it can")
            detail = f"due now instead of {utc_text(due_at)}" if due_at is not None else "due now"
            await repo.add_event(job_id, "promoted", detail, by_id=requested_by_id)
        self.hub.publish(job_id)
        self._on_change()
        return moved

    async def bulk(
        self,
        action: str,
        *,
        ids: Sequence[str] = (),
        where: JobQuery | None = None,
        limit: int = MAX_BULK,
        requested_by_id: str | None = None,
        from_checkpoint: bool = False,
    ) -> tuple[list[BulkResult], int]:
        """``action`` on each job named in ``ids``, or on those ``where`` matches that it applies to
        (newest first, at most MAX_BULK), each in its own transaction: a job that cannot move is
        reported and the rest go on. Returns the results and how many matched beyond the limit.
        ``from_checkpoint`` makes each retry carry on where its job stopped."""
        if action not in BULK_APPLIES_TO:
            raise errors.InvalidArgument(
                "Invalid action. Expected pause, resume, cancel, retry, or promote.", field="action"
            )
        if from_checkpoint and action != "retry":
            raise errors.InvalidArgument("fromCheckpoint applies to retry only", field="fromCheckpoint")
        targets, remaining = await self._bulk_targets(action, ids, where, limit)
        results = []
        for job_id in targets:
            try:
                if action == "retry":
                    retried, created = await self.retry(
                        job_id, created_by_id=requested_by_id, from_checkpoint=from_checkpoint
                    )
                    results.append(BulkResult(job_id, retried, created=created))
                elif action == "promote":
                    promoted = await self.promote(job_id, requested_by_id=requested_by_id)
                    results.append(BulkResult(job_id, promoted))
                else:
                    moved = await self.control(job_id, action, requested_by_id=requested_by_id)
                    results.append(BulkResult(job_id, moved))
            except errors.CocoaError as exc:
                results.append(BulkResult(job_id, None, exc.message))
        return results, remaining

    async def _bulk_targets(
        self, action: str, ids: Sequence[str], where: JobQuery | None, limit: int
    ) -> tuple[list[str], int]:
        if ids:
            unique = list(dict.fromkeys(ids))
            if len(unique) > MAX_BULK:
                raise errors.InvalidArgument(f"ids names at most {MAX_BULK} jobs", field="ids")
            return unique, 0
        if where is None or not where.narrows():
            # Acting on every job takes saying so: a status filter (all the statuses, say).
            raise errors.InvalidArgument(
                "Name the jobs (ids) or filter them by status, type, creator, search, creation time or group",
                field="ids",
            )
        where = self._checked(where)
        wanted = [s for s in BULK_APPLIES_TO[action] if not where.statuses or s in where.statuses]
        if not wanted:
            return [], 0
        async with self.sessions() as session:
            jobs, total = await JobRepository(session).list(
                replace(where, statuses=wanted),
                limit=limit if 0 < limit <= MAX_BULK else MAX_BULK,
                offset=0,
                unretried_only=action == "retry",  # else a retried job would match again and again
                delayed_only=action == "promote",
            )
        return [job.id for job in jobs], total - len(jobs)

    async def list_item_errors(
        self, job_id: str, *, after_seq: int, limit: int
    ) -> tuple[list[JobItemError], int, int]:
        if limit <= 0:
            limit = 100
        limit = min(limit, MAX_ERRORS_PAGE)
        if after_seq < 0:
            raise errors.InvalidArgument("cursor must not be negative", field="cursor")
        async with self.sessions() as session:
            repo = JobRepository(session)
            if await repo.get(job_id) is None:
                raise errors.NotFound("Job not found")
            page = await repo.list_item_errors(job_id, after_seq=after_seq, limit=limit + 1)
            total = await repo.count_item_errors(job_id)
        more = len(page) > limit
        page = page[:limit]
        next_seq = page[-1].id if more and page else 0
        return page, next_seq, total

    async def history(self, job_id: str, limit: int = 0) -> tuple[list[JobEvent], bool]:
        """The job's lifecycle events, oldest first, and whether older ones were left out."""
        limit = MAX_HISTORY if limit <= 0 else min(limit, MAX_HISTORY)
        async with self.sessions() as session:
            repo = JobRepository(session)
            if await repo.get(job_id) is None:
                raise errors.NotFound("Job not found")
            return await repo.history(job_id, limit)

    async def watch(self, job_id: str, after_seq: int = 0) -> AsyncIterator[tuple[JobEvent, JobView]]:
        """Every persisted event after ``after_seq`` with the job as it is now (its latest item
        errors included, as GetJob gives them), until it is terminal and no worker holds it (a job
        cancelled while it ran still reports the batch its worker was writing, then stops)."""
        await self.get(job_id, include_errors=False)
        last = after_seq
        while True:
            with self.hub.armed(job_id) as poked:
                async with self.sessions() as session:
                    repo = JobRepository(session)
                    # The status is read before the events: a job seen terminal has its terminal
                    # event committed already, so the read after it cannot miss that event.
                    job = await repo.get(job_id)
                    assert job is not None
                    was_terminal = job.status in jt.TERMINAL and job.lease_id is None
                    events = await repo.events_after(job_id, last)
                    # Refreshed: the state the events led to.
                    view = await _view(repo, job_id, include_errors=True) if events else JobView(job)
                for event in events:
                    last = event.id
                    yield event, view
                if was_terminal and not events:
                    return
                if not events:
                    await self.hub.wait(poked, timeout=5.0)


def _take_over(job: Job, source: Job) -> None:
    """Start ``job`` where ``source`` stopped: its checkpoint, counts and output so far."""
    job.checkpoint = source.checkpoint
    job.processed_items = source.processed_items
    job.failed_items = source.failed_items
    job.total_items = source.total_items
    job.output_stats = source.output_stats
    job.resumed_items = source.processed_items


def _created_detail(job: Job, depends_on: Sequence[str], origin: str | None) -> str | None:
    """How a new job came to be and what holds it back, for its history."""
    parts = [origin] if origin else []
    if job.retry_of and job.checkpoint:
        done = job.processed_items + job.failed_items
        of = f" of {job.total_items}" if job.total_items is not None else ""
        parts.append(f"retry of {job.retry_of} from its checkpoint ({done}{of} items done)")
    elif job.retry_of:
        parts.append(f"retry of {job.retry_of}")
    if job.priority:
        parts.append(f"priority {job.priority}")
    if job.available_at is not None:
        parts.append(f"not before {utc_text(job.available_at)}")
    if depends_on:
        parts.append("after " + ", ".join(depends_on))
    return "; ".join(parts) or None


async def _view(repo: JobRepository, job_id: str, *, include_errors: bool) -> JobView:
    """The job as it is now, with its latest item errors when asked."""
    job = await repo.get(job_id)
    if job is None:
        raise errors.NotFound("Job not found")
    waits = await repo.dependencies([job_id])
    return await _with_errors(repo, job, include_errors=include_errors, dependencies=waits.get(job_id, ()))


async def _with_errors(
    repo: JobRepository, job: Job, *, include_errors: bool, dependencies: Sequence[Dependency] = ()
) -> JobView:
    # Every item error is a failed item, so a job without failures needs no index scan.
    wanted = include_errors and job.failed_items > 0
    return JobView(job, await repo.recent_item_errors(job.id) if wanted else (), dependencies)


async def _latest_retries(repo: JobRepository, job_id: str) -> list[str]:
    """What a retry of this job waits for: each of its dependencies, or that dependency's latest
    retry, so retrying a chain from a failed step re-links the steps after it."""
    latest = []
    for dependency in (await repo.dependencies([job_id])).get(job_id, ()):
        current = dependency.job_id
        for _ in range(100):  # a retry chain is short; bounded all the same
            retry = await repo.find_retry(current)
            if retry is None:
                break
            current = retry.id
        latest.append(current)
    return latest


def _parse_data(data_json: str) -> dict[str, object]:
    if len(data_json.encode()) > MAX_DATA_BYTES:
        raise errors.TooLarge("data must be at most 1 MiB of JSON", field="data")
    if not data_json.strip():
        return {}
    try:
        data = jsontext.loads(data_json)
    except json.JSONDecodeError as exc:
        raise errors.InvalidArgument(f"data is not valid JSON: {exc.msg}", field="data") from None
    if not isinstance(data, dict):
        raise errors.InvalidArgument("data must be a JSON object", field="data")
    return data


def _upload_removed(upload_id: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(
        f"The file of upload {upload_id!r} was removed after its retention period (UPLOAD_RETENTION_HOURS);"
        " upload it again",
        field="data.uploadId",
    )
