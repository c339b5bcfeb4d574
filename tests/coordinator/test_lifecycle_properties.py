"""A Hypothesis state machine drives the real coordinator (its gRPC server, PostgreSQL and workers
on real Connect streams) through random sequences of creates, pauses, resumes, cancels, retries,
worker deaths and shutdowns and handler outcomes, and checks after every step that every job's
lifecycle stayed legal.

Each step acts, then waits until the system is quiet (no batch running, every report stored,
every job that could start started), then checks. A trigger the test adds to its own database
records every status, attempt, counter and lease change, so a move that was illegal only for an
instant between two steps is caught too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import grpc
import hypothesis
import psycopg
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg.rows import class_row

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import grpc_server
from cocoa_common import jobtypes as jt
from cocoa_common.ids import utcnow
from cocoa_common.settings import Settings
from cocoa_common.worker import ItemError, JobContext, JobFailed, StopRequested, Transient, WorkerRuntime
from cocoa_coordinator.server import CoordinatorApp, start_coordinator

T = TypeVar("T")

PENDING, PROCESSING, PAUSED = jt.PENDING, jt.PROCESSING, jt.PAUSED
COMPLETED, FAILED, CANCELLED = jt.COMPLETED, jt.FAILED, jt.CANCELLED
# Every single status move the lifecycle allows; None is "not there yet" (the job's insert).
ALLOWED_MOVES = frozenset(
    {
        (None, PENDING),
        (PENDING, PROCESSING),  # a worker claimed it
        (PENDING, PAUSED),
        (PENDING, CANCELLED),
        (PROCESSING, PENDING),  # requeued: its worker died, stopped for a shutdown, or hit an outage
        (PROCESSING, PAUSED),
        (PROCESSING, COMPLETED),
        (PROCESSING, FAILED),
        (PROCESSING, CANCELLED),
        (PAUSED, PENDING),  # resumed
        (PAUSED, CANCELLED),
        (PAUSED, FAILED),  # its worker failed it before it saw the pause
    }
)
# geocode_households is an alias: its jobs share geocoding's queue and its concurrency limit. That
# queue gets most jobs, so jobs wait in it and the order they start in is tested.
JOB_TYPES = ("geocoding", "geocode_households", "voter_import")
DRAWN_TYPES = ("geocoding", "geocode_households", "geocoding", "voter_import")
WORKER_TYPES = (("geocoding", "voter_import"), ("geocoding",), ("voter_import",))
CONCURRENCY = 1  # the default JOB_CONCURRENCY of every type
UPLOAD_ID = "up-lifecycle-properties"
HANDLER_GAVE_UP = "the handler gave up on this job"

BACKOFF_S = 0.2  # a transient failure's first backoff; doubled per attempt, at most BACKOFF_MAX_S
BACKOFF_MAX_S = 0.4
SETTLE_S = 10.0  # generous: quiet takes well under a second, but CI machines run tests side by side
STEP_S = 30.0  # any one step, its settling included
STOP_POLL_S = 0.02  # how often a waiting handler looks for a stop request (its "batch boundary")
BATCH_S = 0.005  # how long a batch's writes take: a pause or cancel can land in the middle

# The test's own audit of the jobs table: one row per insert, and per update that changes a
# status, an attempt, a counter or a lease (lease renewals and flushes of equal counters are left out).
MOVES_DDL = """
CREATE TABLE lifecycle_moves (
    seq bigserial PRIMARY KEY,
    job_id text NOT NULL,
    job_type text NOT NULL,
    old_status text,
    new_status text NOT NULL,
    old_attempt integer,
    new_attempt integer NOT NULL,
    old_processed bigint,
    new_processed bigint NOT NULL,
    old_failed bigint,
    new_failed bigint NOT NULL,
    old_lease text,
    new_lease text
);
CREATE FUNCTION log_lifecycle_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lifecycle_moves (job_id, job_type, new_status, new_attempt, new_processed,
                                     new_failed, new_lease)
        VALUES (NEW.id, NEW.type, NEW.status, NEW.attempt, NEW.processed_items, NEW.failed_items,
                NEW.lease_id);
    ELSE
        INSERT INTO lifecycle_moves (job_id, job_type, old_status, new_status, old_attempt,
                                     new_attempt, old_processed, new_processed, old_failed,
                                     new_failed, old_lease, new_lease)
        VALUES (NEW.id, NEW.type, OLD.status, NEW.status, OLD.attempt, NEW.attempt,
                OLD.processed_items, NEW.processed_items, OLD.failed_items, NEW.failed_items,
                OLD.lease_id, NEW.lease_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER lifecycle_inserts AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION log_lifecycle_move();
CREATE TRIGGER lifecycle_updates AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.attempt IS DISTINCT FROM NEW.attempt
          OR OLD.processed_items IS DISTINCT FROM NEW.processed_items
          OR OLD.failed_items IS DISTINCT FROM NEW.failed_items
          OR OLD.lease_id IS DISTINCT FROM NEW.lease_id)
    EXECUTE FUNCTION log_lifecycle_move();
"""

JOBS_SQL = """
SELECT j.id, j.type, j.status, j.priority, j.attempt, j.max_attempts,
       j.processed_items AS processed, j.failed_items AS failed, j.total_items AS total,
       j.lease_id, j.worker_id, j.available_at, j.retry_of, j.checkpoint, j.data,
       j.failure_reason, j.created_at, j.started_at, j.completed_at, j.cancel_requested_at,
       (SELECT count(*) FROM job_item_errors e WHERE e.job_id = j.id) AS ledger,
       ARRAY(SELECT v.kind FROM job_events v
             WHERE v.job_id = j.id AND v.kind IN ('completed', 'failed', 'cancelled')
             ORDER BY v.id) AS terminal_events
FROM jobs j
"""


def canonical(job_type: str) -> str:
    return jt.canonical(job_type) or job_type


def item_fails(item: int, fail_every: int) -> bool:
    """The handler's rule for which items fail: deterministic, so counts can be predicted."""
    return fail_every > 0 and (item + 1) % fail_every == 0


@dataclass(frozen=True)
class JobSpec:
    """A job the machine creates: ``items`` in batches of ``batch``, every ``fail_every``-th
    item failing; ``max_attempts`` 0 takes the coordinator's default."""

    job_type: str
    priority: int
    items: int
    batch: int
    fail_every: int
    max_attempts: int


@dataclass(frozen=True)
class Row:
    """One job as the database holds it, with its item-error ledger size and terminal events."""

    id: str
    type: str
    status: str
    priority: int
    attempt: int
    max_attempts: int
    processed: int
    failed: int
    total: int | None
    lease_id: str | None
    worker_id: str | None
    available_at: datetime | None
    retry_of: str | None
    checkpoint: str | None
    data: str
    failure_reason: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    cancel_requested_at: datetime | None
    ledger: int
    terminal_events: list[str]

    @property
    def next_item(self) -> int:
        return int(json.loads(self.checkpoint)["next"]) if self.checkpoint else 0

    @property
    def input(self) -> dict[str, Any]:
        return json.loads(self.data)

    @property
    def queue_rank(self) -> tuple[int, datetime, str]:
        """Where the job stands in its queue: highest priority, then oldest, first."""
        return (-self.priority, self.created_at, self.id)

    def due(self, now: datetime) -> bool:
        return self.available_at is None or self.available_at <= now


@dataclass(frozen=True)
class Move:
    seq: int
    job_id: str
    job_type: str
    old_status: str | None
    new_status: str
    old_attempt: int | None
    new_attempt: int
    old_processed: int | None
    new_processed: int
    old_failed: int | None
    new_failed: int
    old_lease: str | None
    new_lease: str | None


@dataclass
class Run:
    """One attempt of one job, as a test worker's handler runs it."""

    job_id: str
    lease_id: str
    worker_id: str
    job_type: str  # canonical
    reported: tuple[int, int]  # the (processed, failed) it last sent
    commands: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    waiting: bool = False  # at a batch boundary, waiting for the machine's next command


@dataclass
class Replica:
    """A worker process: its runtime, the task running it, and what it runs."""

    runtime: WorkerRuntime
    task: asyncio.Task[None]
    types: tuple[str, ...]
    capacity: int


@dataclass
class Lab:
    """What outlives one Hypothesis example: the event loop, the settings and the database."""

    loop: asyncio.AbstractEventLoop
    settings: Settings
    database_url: str

    def run(self, step: Callable[[], Awaitable[T]], timeout: float = STEP_S) -> T:
        """Run ``step()`` on the loop, bounded in time (gRPC calls must be made inside the loop)."""

        async def bounded() -> T:
            async with asyncio.timeout(timeout):
                return await step()

        return self.loop.run_until_complete(bounded())


def job_specs() -> st.SearchStrategy[JobSpec]:
    return st.builds(
        JobSpec,
        job_type=st.sampled_from(DRAWN_TYPES),
        priority=st.sampled_from((0, 5)),
        items=st.integers(1, 6),
        batch=st.integers(1, 3),
        fail_every=st.sampled_from((0, 2, 3)),
        max_attempts=st.sampled_from((0, 1, 2)),
    )


class JobLifecycleMachine(RuleBasedStateMachine):
    """One coordinator per example, on a clean jobs table; workers come and go as rules say."""

    jobs = Bundle("jobs")

    def __init__(self, lab: Lab) -> None:
        super().__init__()
        self.lab = lab
        self.app: CoordinatorApp | None = None
        self.channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.CoordinatorServiceStub | None = None
        self.db: psycopg.AsyncConnection[Any] | None = None
        self.replicas: dict[str, Replica] = {}
        self.worker_tasks: list[asyncio.Task[None]] = []  # every worker ever started, for teardown
        self.runs: dict[str, Run] = {}  # lease id -> the attempt a handler is running now
        self.handled: defaultdict[str, list[int]] = defaultdict(list)  # job id -> items its handlers ran
        self.inherited: dict[str, list[int]] = {}  # retry from a checkpoint -> items its source ran
        self.retries: dict[str, str] = {}  # job id -> the job retrying it
        self.violations: list[str] = []  # seen by handlers as they start
        self.seen: dict[str, Row] = {}  # the last checked quiet state
        self.latest: dict[str, Row] = {}  # the quiet state the last step left
        self.worker_names = itertools.count(1)
        self.outage_steps = 0  # hit_an_outage steps drawn so far (not outages: those depend on timing)
        try:
            self.lab.run(self._start)
            self.latest = self._settle()
        except BaseException:
            self.teardown()
            raise

    async def _start(self) -> None:
        self.db = await psycopg.AsyncConnection.connect(self.lab.database_url, autocommit=True)
        await self.db.execute("TRUNCATE jobs, lifecycle_moves CASCADE")
        self.app = await start_coordinator(self.lab.settings, "127.0.0.1:0")
        self.channel = grpc_server.channel(f"127.0.0.1:{self.app.port}")
        self._stub = pb_grpc.CoordinatorServiceStub(self.channel)

    @property
    def stub(self) -> pb_grpc.CoordinatorServiceStub:
        assert self._stub is not None
        return self._stub

    def teardown(self) -> None:
        self.lab.run(self._stop)

    async def _stop(self) -> None:
        for replica in self.replicas.values():
            for _, task in list(replica.runtime.running.values()):
                task.cancel()
        for task in self.worker_tasks:
            task.cancel()
        if self.worker_tasks:
            await asyncio.wait(self.worker_tasks, timeout=5)
        if self.channel is not None:
            await self.channel.close()
        if self.app is not None:
            await self.app.stop(grace=0.5)
        if self.db is not None:
            await self.db.close()

    # ---- the test workers' handler ---------------------------------------------------------

    async def _handle(self, worker_id: str, ctx: JobContext) -> None:
        """Runs a job a batch at a time, each batch when the machine says so; stops at a batch
        boundary when the coordinator asks (pause, cancel, shutdown), as production handlers do."""
        run = Run(ctx.job_id, ctx.lease_id, worker_id, canonical(ctx.type), (ctx.processed, ctx.failed))
        for other in self.runs.values():
            if other.job_id == run.job_id:
                self.violations.append(f"job {run.job_id} runs twice: on {other.worker_id} and {worker_id}")
        same_type = [other.job_id for other in self.runs.values() if other.job_type == run.job_type]
        if len(same_type) >= CONCURRENCY:
            self.violations.append(f"{run.job_id} starts while {same_type} run (limit {CONCURRENCY})")
        self.runs[run.lease_id] = run
        try:
            await self._work(ctx, run)
        finally:
            del self.runs[run.lease_id]

    async def _work(self, ctx: JobContext, run: Run) -> None:
        items, batch = int(ctx.data["items"]), int(ctx.data["batch"])
        fail_every = int(ctx.data["failEvery"])
        ctx.total_items = items
        first = int((ctx.checkpoint or {}).get("next", 0))
        finishing = False
        while first < items:
            command = "batch" if finishing else await self._next_command(ctx, run)
            if command == "fail":
                raise JobFailed(HANDLER_GAVE_UP)
            if command == "transient":
                raise Transient("the geocoding service is down")
            finishing = finishing or command == "finish"
            done = range(first, min(first + batch, items))
            await asyncio.sleep(BATCH_S)
            errors = [
                ItemError(f"item-{i}", "bad_item", f"item {i} is bad")
                for i in done
                if item_fails(i, fail_every)
            ]
            processed, failed = ctx.processed + len(done) - len(errors), ctx.failed + len(errors)
            self.handled[ctx.job_id].extend(done)
            first = done.stop
            run.reported = (processed, failed)
            checkpoint = {"next": first, "processed": processed, "failed": failed}
            await ctx.report(processed=processed, failed=failed, checkpoint=checkpoint, errors=errors)

    async def _next_command(self, ctx: JobContext, run: Run) -> str:
        run.waiting = True
        try:
            while not ctx.stop_requested:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STOP_POLL_S):
                        return await run.commands.get()
            # Told to stop (pause, cancel, shutdown): stop here, as a handler does at a batch boundary.
            raise StopRequested(ctx.stop_reason)
        finally:
            run.waiting = False

    # ---- reading the state -----------------------------------------------------------------

    async def _rows(self) -> dict[str, Row]:
        assert self.db is not None
        async with self.db.cursor(row_factory=class_row(Row)) as cursor:
            await cursor.execute(JOBS_SQL)
            return {row.id: row for row in await cursor.fetchall()}

    async def _moves(self) -> list[Move]:
        assert self.db is not None
        async with self.db.cursor(row_factory=class_row(Move)) as cursor:
            await cursor.execute("SELECT * FROM lifecycle_moves ORDER BY seq")
            return await cursor.fetchall()

    async def _listed_workers(self) -> dict[str, list[str]]:
        """The coordinator's own view: each connected worker and the jobs it holds."""
        listed = await self.stub.ListWorkers(pb.ListWorkersRequest())
        return {w.worker_id: sorted(w.job_ids) for w in listed.workers}

    def _settle(self) -> dict[str, Row]:
        """Wait until the system is quiet, and return the jobs as they are then."""
        self.latest = self.lab.run(self._quiet)
        return self.latest

    async def _quiet(self) -> dict[str, Row]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_S
        while True:
            listed = await self._listed_workers()
            rows = await self._rows()
            reason = self._unsettled(rows, listed)
            if reason is None:
                return rows
            if loop.time() > deadline:
                raise AssertionError(f"not quiet after {SETTLE_S:g}s: {reason}")
            await asyncio.sleep(0.02)

    def _unsettled(self, rows: dict[str, Row], listed: dict[str, list[str]]) -> str | None:
        """Why the system is not quiet yet (None when it is): a worker not connected or a dead one
        still listed, a batch or a stop under way, a report not stored, a job that could start."""
        if set(listed) != set(self.replicas):
            return f"the coordinator lists workers {sorted(listed)}, not {sorted(self.replicas)}"
        for run in self.runs.values():
            if not run.waiting or not run.commands.empty():
                return f"job {run.job_id} is in the middle of a batch"
            if rows[run.job_id].lease_id != run.lease_id:
                return f"job {run.job_id} runs on {run.worker_id} without holding its lease"
        runs = {run.lease_id: run for run in self.runs.values()}
        leased = [row for row in rows.values() if row.lease_id is not None]
        for row in leased:
            run = runs.get(row.lease_id or "")
            if row.status != PROCESSING or run is None:
                return f"job {row.id} is {row.status} and still leased to {row.worker_id}"
            if (row.processed, row.failed) != run.reported:
                return f"job {row.id} stored {(row.processed, row.failed)}, its handler sent {run.reported}"
            if row.id not in listed[run.worker_id]:
                return f"the coordinator does not list job {row.id} under {run.worker_id}"
        if sorted(j for jobs in listed.values() for j in jobs) != sorted(row.id for row in leased):
            return f"the coordinator lists held jobs {listed}, the database {[r.id for r in leased]}"
        now = utcnow()
        for job_type in {canonical(t) for t in JOB_TYPES}:
            held = [row for row in leased if canonical(row.type) == job_type]
            if len(held) >= CONCURRENCY or not any(
                job_type in replica.types and replica.capacity > sum(row.worker_id == name for row in leased)
                for name, replica in self.replicas.items()
            ):
                continue
            for row in rows.values():
                if row.status == PENDING and canonical(row.type) == job_type and row.due(now):
                    return f"{job_type} job {row.id} could start and has not"
        return None

    # ---- invariants --------------------------------------------------------------------------

    @invariant()
    def every_job_lifecycle_stays_legal(self) -> None:
        assert not self.violations, self.violations
        self._check_moves(self.lab.run(self._moves))
        for row in self.latest.values():
            self._check_job(row)
        self._check_since(self.seen, self.latest)
        self.lab.run(functools.partial(self._check_api_agrees, self.latest))
        self.seen = self.latest

    def _check_moves(self, moves: list[Move]) -> None:
        """Every change the database saw, one by one (not only the quiet states between steps)."""
        terminal_entries: Counter[str] = Counter()
        held: defaultdict[str, set[str]] = defaultdict(set)  # type -> jobs holding a lease
        for move in moves:
            what = f"move #{move.seq} of job {move.job_id}: {move}"
            if move.old_status != move.new_status:
                assert (move.old_status, move.new_status) in ALLOWED_MOVES, f"illegal {what}"
                terminal_entries[move.job_id] += move.new_status in jt.TERMINAL
            if move.old_status is None:
                assert move.new_attempt == 0, f"created with an attempt: {what}"
                continue
            assert move.old_attempt is not None
            assert move.old_processed is not None
            assert move.old_failed is not None
            assert move.new_attempt >= move.old_attempt, f"attempt went back: {what}"
            assert move.new_processed >= move.old_processed, f"processed went back: {what}"
            assert move.new_failed >= move.old_failed, f"failed went back: {what}"
            if move.old_status in jt.TERMINAL:
                assert move.new_status == move.old_status, f"a finished job moved again: {what}"
                # A cancelled job's worker may still store the batch it was writing, until it stops.
                still_stopping = move.old_status == CANCELLED and move.old_lease is not None
                if not still_stopping:
                    assert (move.new_attempt, move.new_processed, move.new_failed) == (
                        move.old_attempt,
                        move.old_processed,
                        move.old_failed,
                    ), f"a finished job's counters changed: {what}"
            holders = held[canonical(move.job_type)]
            if move.new_lease is None:
                holders.discard(move.job_id)
            else:
                holders.add(move.job_id)
            assert len(holders) <= CONCURRENCY, f"{sorted(holders)} held at once, after {what}"
        twice = [job for job, entries in terminal_entries.items() if entries > 1]
        assert not twice, f"jobs finished more than once: {twice}"

    def _check_job(self, row: Row) -> None:
        what = f"job {row.id}: {row}"
        assert row.status in jt.STATUSES, what
        assert 0 <= row.attempt <= row.max_attempts, f"attempt beyond its limit: {what}"
        assert (row.completed_at is not None) == (row.status in jt.TERMINAL), what
        assert (row.started_at is not None) == (row.attempt >= 1), what
        assert row.cancel_requested_at is None or row.status == CANCELLED, what
        expected_events = [row.status] if row.status in jt.TERMINAL else []
        assert row.terminal_events == expected_events, f"its history does not end once: {what}"
        assert row.ledger == row.failed, f"{row.ledger} item errors logged for {row.failed} failed: {what}"
        assert (row.lease_id is not None) == (row.status == PROCESSING), f"lease in a quiet state: {what}"
        # Every item its handlers ran (and its source's, for a retry from a checkpoint) is counted
        # once, and the checkpoint covers exactly those items.
        data = row.input
        ran = self.inherited.get(row.id, []) + self.handled[row.id]
        assert len(set(ran)) == len(ran), f"items ran twice {sorted(ran)}: {what}"
        assert set(ran) == set(range(row.next_item)), f"checkpoint != items ran {sorted(ran)}: {what}"
        bad = sum(item_fails(i, data["failEvery"]) for i in ran)
        assert (row.processed, row.failed) == (len(ran) - bad, bad), f"items ran {sorted(ran)}: {what}"
        if row.status == COMPLETED:
            assert row.processed + row.failed == data["items"] == row.total, what
        if row.retry_of is not None:
            source = self.latest[row.retry_of]
            assert source.status in (FAILED, CANCELLED), f"retry of a {source.status} job: {what}"
            assert (row.type, row.priority, row.input) == (source.type, source.priority, source.input), what

    def _check_since(self, before: dict[str, Row], after: dict[str, Row]) -> None:
        """From one quiet state to the next: nothing vanished, finished jobs stayed as they were,
        counters only grew, and a job that started was first in its queue."""
        assert set(before) <= set(after), f"jobs vanished: {set(before) - set(after)}"
        for job_id, old in before.items():
            new = after[job_id]
            what = f"job {job_id}: {old} -> {new}"
            if old.status in jt.TERMINAL:
                assert new == old, f"a finished job changed: {what}"
            assert new.attempt >= old.attempt, what
            assert new.processed >= old.processed, what
            assert new.failed >= old.failed, what
        for job in after.values():
            was = before.get(job.id)
            if job.status != PROCESSING or (was is not None and was.lease_id == job.lease_id):
                continue
            # Started in this step: no job it passed over was due and ahead of it in the queue.
            for other in after.values():
                old = before.get(other.id)
                passed_over = (
                    canonical(other.type) == canonical(job.type)
                    and other.status == PENDING
                    and old is not None
                    and old.status == PENDING
                    and other.available_at is None
                    and old.available_at is None
                )
                assert not (passed_over and other.queue_rank < job.queue_rank), (
                    f"job {job.id} started before {other.id}, which was ahead of it: {job} / {other}"
                )

    async def _check_api_agrees(self, rows: dict[str, Row]) -> None:
        """ListJobs tells what the database holds (pending jobs may start meanwhile: left out)."""
        listed = await self.stub.ListJobs(pb.ListJobsRequest(limit=200))
        assert listed.total == len(rows)
        for job in listed.jobs:
            row = rows[job.id]
            if row.status == PENDING:
                continue
            assert job.status == pb.JobStatus.Value(f"JOB_STATUS_{row.status.upper()}"), (job, row)
            assert (job.attempt, job.processed_items, job.failed_items) == (
                row.attempt,
                row.processed,
                row.failed,
            ), (job, row)

    # ---- workers -------------------------------------------------------------------------------

    async def _start_worker(self, types: tuple[str, ...], capacity: int) -> str:
        assert self.app is not None
        name = f"w{next(self.worker_names)}"
        handler = functools.partial(self._handle, name)
        runtime = WorkerRuntime(
            f"127.0.0.1:{self.app.port}",
            "test",
            dict.fromkeys(types, handler),
            capacity=capacity,
            worker_id=name,
        )
        task = asyncio.create_task(runtime.run())
        self.worker_tasks.append(task)
        await asyncio.wait_for(runtime.connected.wait(), timeout=5)
        self.replicas[name] = Replica(runtime, task, types, capacity)
        return name

    @initialize()
    def first_worker(self) -> None:
        self.lab.run(functools.partial(self._start_worker, WORKER_TYPES[0], 2))
        self._settle()

    @precondition(lambda self: len(self.replicas) < 3)
    @rule(types=st.sampled_from(WORKER_TYPES), capacity=st.integers(1, 2))
    def start_worker(self, types: tuple[str, ...], capacity: int) -> None:
        self.lab.run(functools.partial(self._start_worker, types, capacity))
        self._settle()

    def _held_by(self, worker: str) -> list[Row]:
        return [row for row in self.seen.values() if row.lease_id is not None and row.worker_id == worker]

    def _stop_worker(self, pick: int) -> tuple[str, Replica, list[Row]]:
        """The pick-th worker, those holding jobs first, taken out of the machine's workers."""
        ranked = sorted(self.replicas, key=lambda name: (not self._held_by(name), name))
        name = ranked[pick % len(ranked)]
        return name, self.replicas.pop(name), self._held_by(name)

    # One worker at least stays, so jobs keep moving. (Which one goes is drawn as an index, not
    # from a bundle: what each worker holds depends on timing, and replays must draw alike.)
    @precondition(lambda self: len(self.replicas) > 1)
    @rule(pick=st.integers(0, 2))
    def kill_worker(self, pick: int) -> None:
        """The process dies: its jobs stop at once and its stream drops. Each job it held goes
        back to the queue as its next attempt, or fails if that was its last."""
        worker, replica, held = self._stop_worker(pick)

        async def kill() -> None:
            # All at once, before anything else runs: no handler of a dead process outlives it.
            tasks = [task for _, task in replica.runtime.running.values()]
            for task in [*tasks, replica.task]:
                task.cancel()
            await asyncio.wait([*tasks, replica.task], timeout=5)

        self.lab.run(kill)
        after = self._settle()
        for old in held:
            new = after[old.id]
            _charged_an_attempt(old, new)
            assert new.status != PROCESSING or new.worker_id != worker, f"runs on dead {worker}: {new}"

    @precondition(lambda self: len(self.replicas) > 1)
    @rule(pick=st.integers(0, 2))
    def shut_down_worker(self, pick: int) -> None:
        """A graceful stop (SIGTERM): its jobs stop at their next batch boundary and go back to the
        queue without using up an attempt."""
        worker, replica, held = self._stop_worker(pick)

        async def shut_down() -> None:
            await replica.runtime.shutdown(grace=5)
            await asyncio.wait_for(replica.task, timeout=5)

        self.lab.run(shut_down)
        after = self._settle()
        for old in held:
            new = after[old.id]
            assert (new.processed, new.failed) == (old.processed, old.failed), (old, new)
            assert new.attempt == old.attempt, f"a graceful shutdown used up an attempt: {old} -> {new}"
            assert new.status in (PENDING, PROCESSING), (old, new)
            assert new.status == PENDING or new.worker_id != worker, f"runs on stopped {worker}: {new}"

    # ---- jobs ------------------------------------------------------------------------------------

    @initialize(target=jobs, specs=st.lists(job_specs(), min_size=2, max_size=4))
    def first_jobs(self, specs: list[JobSpec]) -> MultipleResults[str]:
        return multiple(*(self.create_job(spec) for spec in specs))

    @rule(target=jobs, spec=job_specs())
    def create_job(self, spec: JobSpec) -> str:
        data: dict[str, Any] = {"items": spec.items, "batch": spec.batch, "failEvery": spec.fail_every}
        if canonical(spec.job_type) == jt.VOTER_IMPORT:
            data["uploadId"] = UPLOAD_ID
        request = pb.CreateJobRequest(
            type=spec.job_type,
            data_json=json.dumps(data),
            priority=spec.priority,
            max_attempts=spec.max_attempts,
        )
        response = self.lab.run(lambda: self.stub.CreateJob(request))
        assert response.created
        assert (response.job.status, response.job.attempt) == (pb.JOB_STATUS_PENDING, 0)
        new = self._settle()[response.job.id]
        assert new.status in (PENDING, PROCESSING), new
        assert new.attempt == (1 if new.status == PROCESSING else 0), new
        assert new.max_attempts == (spec.max_attempts or self.lab.settings.max_attempts), new
        return response.job.id

    def _call(self, call: Callable[[], Awaitable[T]]) -> T | grpc.aio.AioRpcError:
        """The RPC's answer, or the error it was refused with."""

        async def calling() -> T | grpc.aio.AioRpcError:
            try:
                return await call()
            except grpc.aio.AioRpcError as exc:
                return exc

        return self.lab.run(calling)

    def _control(self, job_id: str, action: str, allowed_from: tuple[str, ...]) -> tuple[Row, Row]:
        """Send a ControlJob; a job it does not apply to refuses it and stays as it was."""
        old = self.seen[job_id]
        value = pb.ControlAction.Value(f"CONTROL_ACTION_{action.upper()}")
        answer = self._call(lambda: self.stub.ControlJob(pb.ControlJobRequest(id=job_id, action=value)))
        new = self._settle()[job_id]
        if old.status in allowed_from:
            assert isinstance(answer, pb.ControlJobResponse), answer
        else:
            assert isinstance(answer, grpc.aio.AioRpcError), answer
            assert answer.code() == grpc.StatusCode.FAILED_PRECONDITION, answer
            assert answer.details() == f"Cannot {action} job with status: {old.status}", answer
            if old.status != PENDING:  # a pending job may have started meanwhile
                assert new == old, f"a refused {action} changed the job: {old} -> {new}"
        return old, new

    @rule(job=jobs)
    def pause(self, job: str) -> None:
        old, new = self._control(job, "pause", (PENDING, PROCESSING))
        if old.status in (PENDING, PROCESSING):
            assert new.status == PAUSED, (old, new)
            assert (new.attempt, new.processed, new.failed) == (old.attempt, old.processed, old.failed)

    @rule(job=jobs)
    def resume(self, job: str) -> None:
        old, new = self._control(job, "resume", (PAUSED,))
        if old.status == PAUSED:
            # Paused as its last batch ended, with every item done: once it starts, it completes.
            all_done = old.next_item == old.input["items"]
            assert new.status in ((PENDING, COMPLETED) if all_done else (PENDING, PROCESSING)), (old, new)
            assert new.attempt == (old.attempt if new.status == PENDING else max(old.attempt, 1))
            assert (new.processed, new.failed) == (old.processed, old.failed), (old, new)

    @rule(job=jobs)
    def cancel(self, job: str) -> None:
        old, new = self._control(job, "cancel", (PENDING, PROCESSING, PAUSED))
        if old.status not in jt.TERMINAL:
            assert new.status == CANCELLED, (old, new)
            assert new.cancel_requested_at is not None, new
            assert (new.attempt, new.processed, new.failed) == (old.attempt, old.processed, old.failed)

    @rule(target=jobs, job=jobs, from_checkpoint=st.booleans())
    def retry(self, job: str, from_checkpoint: bool) -> str:
        """RetryJob: a failed or cancelled job runs again as a new job, once; from its checkpoint
        the new job carries on with its counts. Names the retry, or the job when it is refused
        (so the bundle grows alike however the coordinator answered, which replays need)."""
        old = self.seen[job]
        request = pb.RetryJobRequest(id=job, from_checkpoint=from_checkpoint)
        answer = self._call(lambda: self.stub.RetryJob(request))
        if old.status not in (FAILED, CANCELLED):
            assert isinstance(answer, grpc.aio.AioRpcError), answer
            assert answer.code() == grpc.StatusCode.FAILED_PRECONDITION, answer
            assert answer.details() == f"Cannot retry job with status: {old.status}", answer
            self._settle()
            return job
        if job in self.retries:
            assert isinstance(answer, pb.CreateJobResponse), answer
            assert (answer.created, answer.job.id) == (False, self.retries[job]), answer
            self._settle()
            return answer.job.id
        if from_checkpoint and old.checkpoint is None:
            assert isinstance(answer, grpc.aio.AioRpcError), answer
            assert answer.code() == grpc.StatusCode.INVALID_ARGUMENT, answer
            self._settle()
            return job
        assert isinstance(answer, pb.CreateJobResponse), answer
        assert answer.created, answer
        created = answer.job
        carried = (old.processed, old.failed) if from_checkpoint else (0, 0)
        assert (created.retry_of, created.attempt) == (job, 0), created
        assert (created.processed_items, created.failed_items) == carried, created
        self.retries[job] = created.id
        if from_checkpoint:
            self.inherited[created.id] = self.inherited.get(job, []) + self.handled[job]
        after = self._settle()
        assert after[job] == old, f"retrying changed the retried job: {old} -> {after[job]}"
        return created.id

    # ---- what handlers do ------------------------------------------------------------------------

    def _command(self, pick: int, command: str) -> tuple[Row, Row] | None:
        """Tell the pick-th running handler (in job id order) what its next batch boundary brings;
        None when no job runs. (Rules are not enabled by what runs: Hypothesis must draw the same
        steps again when it replays an example, and what runs depends on timing.)"""
        runs = sorted(self.runs.values(), key=lambda r: r.job_id)
        if not runs:
            return None
        run = runs[pick % len(runs)]
        old = self.seen[run.job_id]
        run.commands.put_nowait(command)
        return old, self._settle()[run.job_id]

    @rule(
        pick=st.integers(0, 3),
        command=st.sampled_from(("batch", "finish")),
        action=st.sampled_from(("pause", "cancel")),
        lead=st.sampled_from((0.0, 0.002, 0.004, 0.008)),
    )
    def control_mid_batch(self, pick: int, command: str, action: str, lead: float) -> None:
        """A pause or cancel that lands while a batch is being written: the job stops after it,
        counting it, or was done first and refuses (a pause racing the last batch may also leave
        it paused with every item done: resume finishes it)."""
        runs = sorted(self.runs.values(), key=lambda r: r.job_id)
        if not runs:
            return
        run = runs[pick % len(runs)]
        old = self.seen[run.job_id]
        value = pb.ControlAction.Value(f"CONTROL_ACTION_{action.upper()}")

        async def control() -> pb.ControlJobResponse:
            # The batch starts ``lead`` seconds before the control is sent: each lead gives the
            # race between the batch's report (or the job's end) and the move another order.
            run.commands.put_nowait(command)
            await asyncio.sleep(lead)
            return await self.stub.ControlJob(pb.ControlJobRequest(id=old.id, action=value))

        answer = self._call(control)
        new = self._settle()[old.id]
        if isinstance(answer, grpc.aio.AioRpcError):
            assert answer.details() == f"Cannot {action} job with status: completed", answer
            assert new.status == COMPLETED, (old, new)
        else:
            assert new.status == (PAUSED if action == "pause" else CANCELLED), (old, new)
        assert new.attempt == old.attempt, (old, new)
        if new.status == COMPLETED:
            assert new.processed + new.failed == old.input["items"], (old, new)

    @rule(pick=st.integers(0, 3))
    def run_a_batch(self, pick: int) -> None:
        if (moved := self._command(pick, "batch")) is None:
            return
        old, new = moved
        data = old.input
        done = min(old.next_item + data["batch"], data["items"])
        if done == data["items"]:
            assert new.status == COMPLETED, (old, new)
        else:
            assert (new.status, new.lease_id, new.attempt) == (PROCESSING, old.lease_id, old.attempt)
        assert new.processed + new.failed == done, (old, new)

    @rule(pick=st.integers(0, 3))
    def run_to_the_end(self, pick: int) -> None:
        if (moved := self._command(pick, "finish")) is None:
            return
        old, new = moved
        assert new.status == COMPLETED, (old, new)
        assert new.processed + new.failed == old.input["items"], (old, new)

    @rule(pick=st.integers(0, 3))
    def fail(self, pick: int) -> None:
        if (moved := self._command(pick, "fail")) is None:
            return
        old, new = moved
        assert (new.status, new.failure_reason) == (FAILED, HANDLER_GAVE_UP), (old, new)
        assert (new.attempt, new.processed, new.failed) == (old.attempt, old.processed, old.failed)

    @rule(pick=st.integers(0, 3))
    def hit_an_outage(self, pick: int) -> None:
        """A transient failure: the job backs off and runs again as its next attempt, or fails
        when that was its last."""
        self.outage_steps += 1
        if (moved := self._command(pick, "transient")) is None:
            return
        old, new = moved
        _charged_an_attempt(old, new)
        if new.status != FAILED:
            assert (new.failure_reason or "").startswith("transient failure, retried after"), new

    @precondition(lambda self: self.outage_steps > 0)
    @rule()
    def let_backoffs_pass(self) -> None:
        """Wait out every backoff; the jobs it held back start as their turn and workers allow."""
        now = utcnow()
        waits = [(r.available_at - now).total_seconds() for r in self.seen.values() if r.available_at]
        self.lab.run(functools.partial(asyncio.sleep, max([0.0, *waits]) + 0.05))
        self._settle()


HYPOTHESIS_SETTINGS = hypothesis.settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,  # steps run real servers and timers
    database=None,  # no example database: a failure prints its steps (replays here are not exact)
    # No shrinking: each replay restarts servers and waits on real timers, which makes shrinking
    # slow and its replays flaky; a failure prints its full (short) sequence of steps instead.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _charged_an_attempt(old: Row, new: Row) -> None:
    """A requeue that counts: the same counters, and the next attempt, or failed at the last."""
    assert (new.processed, new.failed) == (old.processed, old.failed), (old, new)
    if old.attempt >= old.max_attempts:
        assert new.status == FAILED, (old, new)
        assert (new.failure_reason or "").startswith(f"Gave up after {old.attempt} attempt"), new
    else:
        assert new.attempt == old.attempt + 1, (old, new)
        assert new.status in (PENDING, PROCESSING), (old, new)


def test_random_control_sequences_keep_every_job_lifecycle_legal(
    settings: Settings, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(MOVES_DDL)
        conn.execute(
            "INSERT INTO uploads (id, kind, filename, path, size_bytes, sha256, created_at)"
            " VALUES (%s, 'voter_import', 'voters.csv', '', 0, '', now())",
            (UPLOAD_ID,),
        )
    lab_settings = settings.with_overrides(
        retry_backoff_s=BACKOFF_S, retry_backoff_max_s=BACKOFF_MAX_S, progress_flush_s=0.05
    )
    loop = asyncio.new_event_loop()
    lab = Lab(loop, lab_settings, database_url)
    try:
        run_state_machine_as_test(lambda: JobLifecycleMachine(lab), settings=HYPOTHESIS_SETTINGS)
    finally:
        loop.run_until_complete(_cancel_leftovers())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _cancel_leftovers() -> None:
    """Whatever a failed example left running (its teardown is bounded, so it may leave some)."""
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
