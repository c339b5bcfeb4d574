"""Dispatch: connected workers, the scheduler, leases, progress persistence and recovery.

Workers hold one ``Connect`` stream each. The scheduler claims pending jobs in (priority, age)
order, within each type's concurrency limit, and sends them to a worker with free capacity.
Everything a worker reports carries the lease id it was given; the database rejects writes from
a lease that is no longer current, so a superseded attempt can never overwrite a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa_common import db, errors
from cocoa_common import jobtypes as jt
from cocoa_common.ids import utcnow
from cocoa_common.models import Job
from cocoa_common.outages import is_transient
from cocoa_common.process import cancel_and_wait
from cocoa_common.settings import Settings
from cocoa_coordinator import convert
from cocoa_coordinator.archive import archive_finished
from cocoa_coordinator.events import EventHub
from cocoa_coordinator.lifecycle import (
    COORDINATOR_RESTART,
    NO_HEARTBEAT,
    STALLED,
    TRANSIENT_FAILURE,
    WORKER_LOST,
    WORKER_SHUTDOWN,
    JobLifecycle,
)
from cocoa_coordinator.repository import (
    PROGRESS_EVENT,
    Claim,
    JobRepository,
    NewItemError,
    ProgressUpdate,
    event_detail,
    utc_text,
)

logger = logging.getLogger(__name__)

HEARTBEAT_ACK = pb.CoordinatorMessage(heartbeat_ack=pb.HeartbeatAck())
STOP_REASONS = {"pause": pb.STOP_REASON_PAUSE, "cancel": pb.STOP_REASON_CANCEL}
# Jobs cancelled per transaction because a dependency failed, and rounds per sweep (each round
# reaches one step further down a chain of dependents).
ORPHAN_BATCH = 500
ORPHAN_ROUNDS = 50
EXPIRE_BATCH = 500  # unstarted jobs past their expires_at, cancelled per sweep
STORE_RETRY_MAX_S = 2.0  # the longest wait between tries of a write that must not be lost
T = TypeVar("T")


@dataclass(eq=False)
class WorkerConnection:
    """One worker process's open stream and what it currently holds."""

    worker_id: str
    service: str
    types: frozenset[str]
    capacity: int
    outbox: asyncio.Queue[pb.CoordinatorMessage | None] = field(default_factory=asyncio.Queue)
    leases: dict[str, str] = field(default_factory=dict)  # lease id -> job id
    last_seen: float = field(default_factory=time.monotonic)
    open: bool = True
    peer: str = ""  # its address, as gRPC gives it
    connected_at: datetime = field(default_factory=utcnow)
    draining: bool = False  # finishes what it holds, takes nothing new (ops scaling it down)

    def free_slots(self) -> int:
        return 0 if self.draining else self.capacity - len(self.leases)

    def last_seen_at(self) -> datetime:
        heard = utcnow() - timedelta(seconds=time.monotonic() - self.last_seen)
        return max(heard, self.connected_at)  # the hello itself was heard at connection

    def send(self, message: pb.CoordinatorMessage) -> None:
        if self.open:
            self.outbox.put_nowait(message)

    def stop(self, job_id: str, lease_id: str, reason: pb.StopReason.ValueType) -> None:
        self.send(pb.CoordinatorMessage(stop=pb.Stop(job_id=job_id, lease_id=lease_id, reason=reason)))


@dataclass
class _Pending:
    """Progress received but not yet persisted (coalesced to at most one write per flush)."""

    job_id: str
    progress: ProgressUpdate | None = None
    errors: list[NewItemError] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        hub: EventHub,
        lifecycle: JobLifecycle,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.lifecycle = lifecycle
        self.workers: dict[str, WorkerConnection] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._pending: dict[str, _Pending] = {}  # lease id -> unsaved progress
        # lease id -> held while that lease's progress is written: a flush under way ends before the
        # final write releases the lease (else its item errors, stored only while the lease holds,
        # would be lost), and two flushes of one lease never cross.
        self._writing: dict[str, asyncio.Lock] = {}
        self._seen: set[str] = set()  # leases heard from since the last flush
        # leases whose final report is being stored (it may wait out an outage): their worker is
        # done with them, not lost
        self._finishing: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._streams = 0  # worker streams whose cleanup has not run yet
        self._no_streams = asyncio.Event()
        self._no_streams.set()
        self._skip_locked = False

    # ---- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        bind = self.sessions.kw.get("bind")
        self._skip_locked = bind is not None and bind.dialect.name == "postgresql"
        await self._recover()
        for loop in (self._schedule_loop, self._flush_loop, self._sweep_loop, self._archive_loop):
            self._tasks.append(asyncio.create_task(loop(), name=loop.__name__))

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        await self._flush()
        for conn in list(self.workers.values()):
            conn.open = False
            conn.outbox.put_nowait(None)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for the leases of closed streams to be released (before the database goes away).
        A stream cancelled by the server's stop runs its cleanup a few loop turns later, so wait
        for every stream to have started its release, then for the releases."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._no_streams.wait()
                while self._background:
                    await asyncio.wait(set(self._background))

    def wake(self) -> None:
        self._wake.set()

    async def _recover(self) -> None:
        """A restarted coordinator owns no streams: every held job goes back to the queue."""
        requeued: list[Job] = []
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            for job_id, lease_id in await repo.all_leases():
                job, moved = await repo.requeue_lost(
                    job_id, lease_id, "coordinator restarted", count_attempt=False
                )
                if job is not None:
                    await repo.add_event(job_id, "requeued", event_detail("requeued", job))
                    logger.info("recovered job %s (now %s)", job_id, job.status)
                if job is not None and moved:
                    requeued.append(job)
        for job in requeued:
            self.lifecycle.requeued(job, COORDINATOR_RESTART)

    # ---- worker streams -------------------------------------------------------

    async def serve(
        self, messages: AsyncIterator[pb.WorkerMessage], peer: str = ""
    ) -> AsyncIterator[pb.CoordinatorMessage]:
        """Run one worker's Connect stream: hello first, then updates in, assignments out."""
        first = await anext(messages, None)
        if first is None or not first.HasField("hello"):
            return
        hello = first.hello
        types = frozenset(c for t in hello.job_types if (c := jt.canonical(t)))
        conn = WorkerConnection(hello.worker_id, hello.service, types, max(1, hello.capacity), peer=peer)
        async with self._lock:
            old = self.workers.get(conn.worker_id)
            self.workers[conn.worker_id] = conn
        if old is not None:
            await self._drop(old, "worker reconnected")
        logger.info("worker %s (%s) connected for %s", conn.worker_id, conn.service, sorted(types))
        conn.send(
            pb.CoordinatorMessage(
                welcome=pb.Welcome(
                    heartbeat_interval_seconds=self.settings.heartbeat_interval_s,
                    stop_grace_seconds=max(self.settings.stop_grace_s, 0.0),
                    silence_limit_seconds=self.settings.worker_silence_limit_s,
                )
            )
        )
        reader = asyncio.create_task(self._read(conn, messages))
        self.wake()
        self._streams += 1
        self._no_streams.clear()
        try:
            while True:
                message = await conn.outbox.get()
                if message is None:
                    return
                yield message
        finally:
            try:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                if self.workers.get(conn.worker_id) is conn:
                    del self.workers[conn.worker_id]
                # A separate task, so the release survives the cancellation of this RPC.
                self._in_background(self._drop(conn, "worker disconnected"))
            finally:
                self._streams -= 1
                if self._streams == 0:
                    self._no_streams.set()

    async def _read(self, conn: WorkerConnection, messages: AsyncIterator[pb.WorkerMessage]) -> None:
        try:
            async for message in messages:
                conn.last_seen = time.monotonic()
                kind = message.WhichOneof("kind")
                if kind == "progress":
                    self._buffer(message.progress)
                elif kind == "heartbeat":
                    self._seen.update(lease for lease in message.heartbeat.lease_ids if lease in conn.leases)
                    conn.send(HEARTBEAT_ACK)
                elif kind == "leaving":
                    # Else a job it hands back could be given straight back to it as it goes.
                    conn.draining = True
                elif kind == "finished":
                    # In its own task: storing it may wait out a database outage, and meanwhile the
                    # stream must go on answering heartbeats, or the worker would think it cut off.
                    self._finishing.add(message.finished.final.lease_id)
                    self._in_background(self._finish(conn, message.finished))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("stream of worker %s broke", conn.worker_id, exc_info=True)
        finally:
            # The worker hung up: end our side too so its leases are released.
            conn.open = False
            conn.outbox.put_nowait(None)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the streams; :meth:`drain` waits for it before the database goes."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("%s failed", task.get_coro().__qualname__, exc_info=exc)  # type: ignore[union-attr]

    async def _drop(self, conn: WorkerConnection, reason: str) -> None:
        conn.open = False
        leases = dict(conn.leases)
        conn.leases.clear()
        for lease_id, job_id in leases.items():
            if lease_id in self._finishing:
                continue  # its worker said how it ended; that report is being stored
            await self._flush_one(lease_id)
            await self._requeue(job_id, lease_id, reason, WORKER_LOST)
        if leases:
            self.wake()

    async def _requeue(
        self, job_id: str, lease_id: str, reason: str, cause: str | None, *, count_attempt: bool = True
    ) -> None:
        """Take a job back from its worker (``cause`` labels the requeue metric; None: the job never
        started there, so it is no requeue to count, and costs no attempt when told so)."""
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            job, moved = await repo.requeue_lost(job_id, lease_id, reason, count_attempt=count_attempt)
            if job is not None:  # a paused or cancelled job only loses its lease ("let go of it")
                kind = "failed" if job.status == jt.FAILED else "requeued"
                await repo.add_event(job_id, kind, event_detail(kind, job))
        self._writing.pop(lease_id, None)
        if job is not None and moved:
            if job.status == jt.PENDING and cause is not None:
                self.lifecycle.requeued(job, cause)
            self.lifecycle.moved(job)
        if job is not None:
            logger.warning(
                "job %s taken back from its worker (%s); now %s attempt %s",
                job_id,
                reason,
                job.status,
                job.attempt,
            )
            self.hub.publish(job_id)

    # ---- progress -------------------------------------------------------------

    def _buffer(self, message: pb.Progress) -> None:
        pending = self._pending.setdefault(message.lease_id, _Pending(message.job_id))
        pending.progress = convert.progress_from_pb(message)
        pending.errors.extend(convert.item_errors_from_pb(message.errors))
        self._seen.add(message.lease_id)

    def _write_lock(self, lease_id: str) -> asyncio.Lock:
        return self._writing.setdefault(lease_id, asyncio.Lock())

    async def _flush_one(self, lease_id: str) -> None:
        async with self._write_lock(lease_id):
            pending = self._pending.pop(lease_id, None)
            if pending is not None and pending.progress is not None:
                await self._write_pending(lease_id, pending, pending.progress)

    async def _write_pending(self, lease_id: str, pending: _Pending, progress: ProgressUpdate) -> None:
        try:
            async with self.sessions.begin() as session:
                repo = JobRepository(session)
                stored = await repo.record_progress(
                    pending.job_id, lease_id, progress, pending.errors, self.settings.heartbeat_timeout_s
                )
                if stored:
                    await repo.add_event(pending.job_id, PROGRESS_EVENT)
        except Exception:
            self._restore(lease_id, pending)  # the database hiccupped: keep it for the next flush
            raise
        if stored:
            self.hub.publish(pending.job_id)

    def _restore(self, lease_id: str, pending: _Pending) -> None:
        newer = self._pending.get(lease_id)
        if newer is not None:  # reports arrived meanwhile: keep their counters, the older errors first
            newer.errors[:0] = pending.errors
        else:
            self._pending[lease_id] = pending

    async def _flush(self) -> None:
        for lease_id in list(self._pending):
            await self._flush_one(lease_id)
        seen, self._seen = self._seen, set()
        if seen:
            try:
                async with self.sessions.begin() as session:
                    await JobRepository(session).renew_leases(sorted(seen), self.settings.heartbeat_timeout_s)
            except Exception:
                self._seen |= seen  # heard from all the same: renew them once the database answers
                raise

    async def _bounded(self, work: Awaitable[T]) -> T:
        """Database work that must not hang the loops on a silent connection."""
        return await db.within_deadline(self.sessions.kw["bind"], self.settings.database_deadline_s, work)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.progress_flush_s)
            try:
                await self._bounded(self._flush())
            except Exception:
                logger.exception("progress flush failed; retrying")

    async def _finish(self, conn: WorkerConnection, message: pb.Finished) -> None:
        final = message.final
        lease_id, job_id = final.lease_id, final.job_id
        async with self._write_lock(lease_id):
            self._buffer(final)  # after earlier reports a flush had to put back, if any
            pending = self._pending.pop(lease_id, _Pending(job_id))
            try:
                job, moved = await _until_stored(
                    f"the final report of job {job_id}",
                    lambda: self._bounded(self._store_finish(job_id, lease_id, pending, message)),
                )
            finally:
                self._finishing.discard(lease_id)
        self._writing.pop(lease_id, None)
        if job is not None and moved:
            if job.status == jt.PENDING:  # retried, or stopped by a worker shutting down (not paused)
                retried = message.outcome == pb.OUTCOME_RETRY
                self.lifecycle.requeued(job, TRANSIENT_FAILURE if retried else WORKER_SHUTDOWN)
            self.lifecycle.moved(job)
        conn.leases.pop(lease_id, None)
        self.hub.publish(job_id)
        self.wake()

    async def _store_finish(
        self, job_id: str, lease_id: str, pending: _Pending, message: pb.Finished
    ) -> tuple[Job | None, bool]:
        """One transaction: the last progress, the lease released, the event. Safe to run again
        after a commit whose answer was lost, since every write is fenced by the lease."""
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            if pending.progress is not None:
                await repo.record_progress(
                    job_id, lease_id, pending.progress, pending.errors, self.settings.heartbeat_timeout_s
                )
            job, moved = await self._close_lease(repo, job_id, lease_id, message)
            if job is not None:
                kind = _finish_event(job, message.outcome, moved)
                await repo.add_event(job_id, kind, event_detail(kind, job))
            if job is not None and moved and job.status == jt.COMPLETED:
                await repo.release_dependents(job_id)
        return job, moved

    async def _close_lease(
        self, repo: JobRepository, job_id: str, lease_id: str, message: pb.Finished
    ) -> tuple[Job | None, bool]:
        """The job with its lease released, and whether its status changed here."""
        if message.outcome == pb.OUTCOME_COMPLETED:
            stats = message.final.output_stats_json or None
            completed = await repo.complete(job_id, lease_id, stats)
            if completed is not None:
                return completed, True
            # A pause that raced with the last batch keeps the job paused; resume finishes it.
            return await repo.release(job_id, lease_id), False
        if message.outcome == pb.OUTCOME_FAILED:
            failed = await repo.fail_leased(job_id, lease_id, message.reason or "worker reported failure")
            if failed is None:  # cancelled meanwhile: it stays cancelled and gives its lease back
                return await repo.release(job_id, lease_id), False
            return failed, True
        if message.outcome == pb.OUTCOME_RETRY:
            current = await repo.get(job_id)
            delay = self.settings.retry_backoff_for(current.attempt if current else 1)
            reason = f"transient failure, retried after {delay:g}s: {message.reason or 'unknown'}"
            return await repo.requeue_lost(job_id, lease_id, reason, count_attempt=True, delay_s=delay)
        # Stopped on request: a paused job stays paused; one stopped by a shutting-down worker is requeued.
        return await repo.requeue_lost(
            job_id, lease_id, message.reason or "worker stopped", count_attempt=False
        )

    # ---- scheduling -----------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as
            # the wake-up does, and stop() would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._bounded(self.dispatch_pending())
            except Exception:
                logger.exception("dispatch failed; retrying")

    async def dispatch_pending(self) -> None:
        async with self._lock:
            for job_type in sorted({t for conn in self.workers.values() for t in conn.types}):
                while await self._dispatch_one(job_type):
                    pass

    def _pick(self, job_type: str, avoid: str | None) -> WorkerConnection | None:
        now = time.monotonic()
        candidates = [
            conn
            for conn in self.workers.values()
            if conn.open
            and job_type in conn.types
            and conn.free_slots() > 0
            and now - conn.last_seen < self.settings.heartbeat_timeout_s
        ]
        if not candidates:
            return None
        # Prefer another replica than the one that lost the job, then the least loaded.
        candidates.sort(key=lambda c: (c.worker_id == avoid, -c.free_slots()))
        return candidates[0]

    async def _dispatch_one(self, job_type: str) -> bool:
        if self._pick(job_type, None) is None:
            return False
        names = jt.names_of(job_type)
        claim: Claim | None = None
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            paused, concurrency = await repo.queue_gate(job_type)
            if paused:
                return False
            limit = concurrency if concurrency is not None else self.settings.concurrency_for(job_type)
            if await repo.held_count(names) >= limit:
                return False
            job = await repo.next_pending(
                names,
                skip_locked=self._skip_locked,
                group_limit=self.settings.group_concurrency.get(job_type, 0),
                paused_groups=await repo.paused_groups(),
            )
            if job is None:
                return False
            conn = self._pick(job_type, job.worker_id)
            if conn is None:  # the worker left while the job was looked up
                return False
            pending_since = job.updated_at  # read now: the claim refreshes this same object
            claim = await repo.claim(job.id, conn.worker_id, self.settings.heartbeat_timeout_s)
            if claim is not None:
                await repo.add_event(job.id, "started", event_detail("started", claim.job))
        if claim is None:
            return True
        if not conn.open:  # its stream ended during the claim, and its cleanup did not see this lease
            await self._give_back(claim)
            return True
        self.lifecycle.started(claim.job, (claim.job.updated_at - pending_since).total_seconds())
        conn.leases[claim.lease_id] = claim.job.id
        conn.send(pb.CoordinatorMessage(assignment=_assignment(claim)))
        logger.info("job %s attempt %s -> worker %s", claim.job.id, claim.job.attempt, conn.worker_id)
        self.hub.publish(claim.job.id)
        return True

    async def _give_back(self, claim: Claim) -> None:
        """Undo a claim whose worker left before it could be told: the job never started there, so
        it costs no attempt."""
        reason = "worker left before the job started"
        await self._requeue(claim.job.id, claim.lease_id, reason, None, count_attempt=False)
        self.wake()

    def stop_job(self, job_id: str, lease_id: str, action: str) -> None:
        """Deliver a pause or cancel to the worker holding the lease, at once."""
        for conn in self.workers.values():
            if lease_id in conn.leases:
                conn.stop(job_id, lease_id, STOP_REASONS[action])

    # ---- leases and timeouts --------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.settings.heartbeat_timeout_s / 4))
            try:
                await self._bounded(self.sweep())
            except Exception:
                logger.exception("sweep failed; retrying")

    async def _archive_loop(self) -> None:
        if self.settings.archive_after_days <= 0:
            return
        while True:
            try:
                await archive_finished(self.sessions, timedelta(days=self.settings.archive_after_days))
            except Exception:
                logger.exception("archiving finished jobs failed; retrying")
            await asyncio.sleep(self.settings.archive_interval_s)

    async def sweep(self) -> None:
        """Requeue jobs whose worker went silent or that stopped making progress; fail jobs past
        their timeout."""
        await self._flush()
        now = utcnow()
        stall_s = self.settings.stall_timeout_s
        async with self.sessions() as session:
            repo = JobRepository(session)
            expired = await repo.expired_leases(now)
            stalled = await repo.stalled(now - timedelta(seconds=stall_s)) if stall_s > 0 else []
            timed_out = await repo.timed_out(now)
            expiring = await repo.expiring(now, EXPIRE_BATCH)
        for job_id, lease_id in expired:
            if lease_id in self._finishing:
                continue
            self._forget_lease(lease_id, pb.STOP_REASON_SUPERSEDED, job_id)
            reason = f"no heartbeat for {self.settings.heartbeat_timeout_s:g}s"
            await self._requeue(job_id, lease_id, reason, NO_HEARTBEAT)
        for job_id, lease_id in stalled:
            # The worker lives (it heartbeats) but the job does not move: take the lease back, so
            # whatever the stuck attempt writes later is refused, and run the job again.
            self._forget_lease(lease_id, pb.STOP_REASON_STALLED, job_id)
            await self._requeue(job_id, lease_id, f"no progress for {stall_s:g}s", STALLED)
        for job in timed_out:
            async with self.sessions.begin() as session:
                repo = JobRepository(session)
                failed = await repo.fail(job.id, f"Timed out after {job.timeout_seconds:g}s")
                if failed is not None:
                    await repo.add_event(job.id, "failed", failed.failure_reason)
            if failed is not None:
                self.lifecycle.moved(failed)
            if failed is not None and job.lease_id:
                self._forget_lease(job.lease_id, pb.STOP_REASON_TIMEOUT, job.id)
                self.hub.publish(job.id)
        for job_id, expires_at in expiring:
            await self._expire(job_id, expires_at, now)
        if expired or stalled or timed_out:
            self.wake()
        await self.cancel_orphans()  # and so the jobs waiting for an expired one

    async def _expire(self, job_id: str, expires_at: datetime, now: datetime) -> None:
        """Cancel a job that did not start by its ``expires_at`` (Celery's expires)."""
        reason = f"Expired: not started by {utc_text(expires_at)}"
        async with self.sessions.begin() as session:
            repo = JobRepository(session)
            cancelled = await repo.expire(job_id, now, reason)
            if cancelled is not None:
                await repo.add_event(job_id, "cancelled", reason)
        if cancelled is not None:
            logger.info("job %s expired unstarted", job_id)
            self.lifecycle.moved(cancelled)
            self.hub.publish(job_id)

    async def cancel_orphans(self) -> None:
        """Cancel the jobs waiting for a job that failed or was cancelled, and the jobs waiting for
        those: a chain is cancelled down to its end within one sweep."""
        for _ in range(ORPHAN_ROUNDS):
            cancelled: list[Job] = []
            async with self.sessions.begin() as session:
                repo = JobRepository(session)
                orphans = await repo.orphaned(ORPHAN_BATCH)
                for job_id, dependency_id, dependency_status in orphans:
                    job = await repo.cancel_orphan(job_id, f"Dependency {dependency_id} {dependency_status}")
                    if job is not None:
                        await repo.add_event(job_id, jt.CANCELLED, job.failure_reason)
                        cancelled.append(job)
            for job in cancelled:
                self.lifecycle.moved(job)
                self.hub.publish(job.id)
                logger.info("job %s cancelled: %s", job.id, job.failure_reason)
            if not orphans:
                return

    def _forget_lease(self, lease_id: str, reason: pb.StopReason.ValueType, job_id: str) -> None:
        for conn in self.workers.values():
            if conn.leases.pop(lease_id, None) is not None:
                conn.stop(job_id, lease_id, reason)

    def worker_capacity(self) -> dict[str, tuple[int, int]]:
        """(connected workers, their combined slots) per type they run; a draining worker's slots
        take no new job, so they do not count."""
        capacity: dict[str, tuple[int, int]] = {}
        for conn in self.workers.values():
            if conn.open:
                for job_type in conn.types:
                    workers, slots = capacity.get(job_type, (0, 0))
                    capacity[job_type] = (workers + 1, slots + (0 if conn.draining else conn.capacity))
        return capacity

    def connected_workers(self) -> list[WorkerConnection]:
        """The open worker streams, oldest connection first."""
        return sorted((c for c in self.workers.values() if c.open), key=lambda c: c.connected_at)

    def set_draining(self, worker_id: str, draining: bool) -> WorkerConnection:
        """Drain a worker (it keeps its jobs until they end and gets no new one) or take that back.
        The mark lives as long as the stream: a restarted worker comes back taking jobs."""
        conn = self.workers.get(worker_id)
        if conn is None or not conn.open:
            raise errors.NotFound("Worker not found")
        if conn.draining != draining:
            conn.draining = draining
            logger.info("worker %s %s", worker_id, "draining" if draining else "takes jobs again")
            self.wake()
        return conn

    def connected_types(self) -> list[str]:
        return sorted({t for conn in self.workers.values() if conn.open for t in conn.types})


async def _until_stored(what: str, write: Callable[[], Awaitable[T]]) -> T:
    """``write()`` again and again while the database is unreachable: a worker's final report is
    the only copy of its outcome, so losing it to an outage would run the job again."""
    delay = 0.1
    while True:
        try:
            return await write()
        except Exception as exc:
            if not is_transient(exc):
                raise
            logger.warning("storing %s failed (%s); retrying in %gs", what, type(exc).__name__, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, STORE_RETRY_MAX_S)


def _assignment(claim: Claim) -> pb.Assignment:
    job = claim.job
    message = pb.Assignment(
        job_id=job.id,
        lease_id=claim.lease_id,
        type=jt.canonical(job.type) or job.type,
        data_json=job.data,
        checkpoint_json=job.checkpoint or "",
        attempt=job.attempt,
        total_items=job.total_items or 0,
        has_total=job.total_items is not None,
    )
    if job.started_at is not None:
        message.started_at.FromDatetime(job.started_at)
    return message


def _finish_event(job: Job, outcome: int, moved: bool) -> str:
    """The event a worker's Finished leads to: the terminal status it moved the job to, a requeue,
    or a stop (also of a job cancelled while it ran: its cancel was recorded then)."""
    if job.status in jt.TERMINAL and moved:
        return job.status
    return "requeued" if outcome == pb.OUTCOME_RETRY and job.status == jt.PENDING else "stopped"
