"""The worker side of the coordinator's Connect stream, shared by the geocoder and the importer.

A worker process says hello with the job types it runs, receives assignments, and runs each in
its own task through a handler. Handlers work in batches and call :meth:`JobContext.report` at
every batch boundary, after the batch's writes are committed; the report is the checkpoint, the
progress and the heartbeat at once, and it is where a pause or cancel takes effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import grpc_server, requestid
from cocoa_common.ids import new_id
from cocoa_common.outages import Transient as Transient  # handlers raise it from here
from cocoa_common.outages import is_transient
from cocoa_common.process import cancel_and_wait

logger = logging.getLogger(__name__)

WELCOME_TIMEOUT_S = 10.0  # a coordinator that does not welcome a new stream in this long is not there

STOP_NAMES = {
    pb.STOP_REASON_PAUSE: "pause",
    pb.STOP_REASON_CANCEL: "cancel",
    pb.STOP_REASON_TIMEOUT: "timeout",
    pb.STOP_REASON_SUPERSEDED: "superseded",
    pb.STOP_REASON_STALLED: "stalled",
}


class StopRequested(Exception):
    """Raised by :meth:`JobContext.report` when the coordinator asked this job to stop."""


class JobFailed(Exception):
    """Raised by a handler when the job as a whole cannot go on (bad file, missing input...)."""


@dataclass(frozen=True, slots=True)
class ItemError:
    item_ref: str
    code: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_pb(self) -> pb.ItemError:
        return pb.ItemError(
            item_ref=self.item_ref,
            code=self.code,
            message=self.message,
            detail_json=json.dumps(self.detail, separators=(",", ":"), default=str),
        )


@dataclass
class JobContext:
    """What a handler knows about its job, and how it talks back."""

    job_id: str
    lease_id: str
    type: str
    data: dict[str, Any]
    checkpoint: dict[str, Any] | None
    attempt: int
    started_at: datetime | None
    total_items: int | None
    _send: Callable[[pb.WorkerMessage], None]
    stop_reason: str | None = None
    forced_after_s: float | None = None  # set when the worker cancelled a job that did not stop
    processed: int = 0
    failed: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    _last_checkpoint: dict[str, Any] | None = None

    @property
    def stop_requested(self) -> bool:
        return self.stop_reason is not None

    def _progress(self, errors: Sequence[ItemError] = ()) -> pb.Progress:
        return pb.Progress(
            job_id=self.job_id,
            lease_id=self.lease_id,
            processed_items=self.processed,
            failed_items=self.failed,
            total_items=self.total_items or 0,
            has_total=self.total_items is not None,
            checkpoint_json=json.dumps(self._last_checkpoint) if self._last_checkpoint is not None else "",
            output_stats_json=json.dumps(self.stats, separators=(",", ":")),
            errors=[e.to_pb() for e in errors],
        )

    async def report(
        self,
        *,
        processed: int,
        failed: int,
        checkpoint: dict[str, Any],
        errors: Sequence[ItemError] = (),
        total: int | None = None,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Send absolute counters, the checkpoint and the batch's item errors; stop here if asked."""
        self.processed, self.failed = processed, failed
        if total is not None:
            self.total_items = total
        if stats is not None:
            self.stats = stats
        self._last_checkpoint = checkpoint
        self._send(pb.WorkerMessage(progress=self._progress(errors)))
        await asyncio.sleep(0)  # let the stream and stop messages through between batches
        if self.stop_requested:
            raise StopRequested(self.stop_reason)

    def finished(self, outcome: pb.Outcome.ValueType, reason: str = "") -> pb.WorkerMessage:
        return pb.WorkerMessage(finished=pb.Finished(final=self._progress(), outcome=outcome, reason=reason))


Handler = Callable[[JobContext], Awaitable[None]]


def default_worker_id(service: str) -> str:
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{new_id()[-6:]}"


class WorkerRuntime:
    """Keeps one Connect stream open to the coordinator and runs the jobs it is given."""

    def __init__(
        self,
        coordinator_addr: str,
        service: str,
        handlers: dict[str, Handler],
        *,
        capacity: int = 2,
        worker_id: str | None = None,
        after_forced_stop: Callable[[], Awaitable[None]] | None = None,
        welcome_timeout: float = WELCOME_TIMEOUT_S,
    ) -> None:
        """``after_forced_stop``: run after a job stuck past its stop grace is cancelled. Such a job
        most likely waits on a connection that went silent, and its idle siblings in the pool with
        it, so the services start their database pool afresh there. ``welcome_timeout``: how long a
        new stream may wait for the coordinator's Welcome before it is dropped and tried again."""
        self.coordinator_addr = coordinator_addr
        self.service = service
        self.handlers = handlers
        self.capacity = capacity
        self.worker_id = worker_id or default_worker_id(service)
        self.running: dict[str, tuple[JobContext, asyncio.Task[None]]] = {}  # lease id -> job
        self.connected = asyncio.Event()
        self._heartbeat_interval = 5.0
        self._stop_grace = 0.0  # from the coordinator's Welcome
        self._silence_limit = 0.0  # from the Welcome too; 0: the coordinator does not answer heartbeats
        self._last_heard = 0.0  # monotonic time of the coordinator's last message
        self._force_timers: dict[str, asyncio.TimerHandle] = {}  # lease id -> forced stop
        self._outbox: asyncio.Queue[pb.WorkerMessage | None] = asyncio.Queue()
        self._stopping = False
        self._after_forced_stop = after_forced_stop
        self._recovering: set[asyncio.Task[None]] = set()
        self._welcome_timeout = welcome_timeout

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff, until :meth:`shutdown`."""
        delay = 0.2
        while not self._stopping:
            try:
                await self._session()
                delay = 0.2
            except (grpc.aio.AioRpcError, OSError) as exc:
                logger.warning("coordinator stream lost: %s", exc)
            finally:
                self.connected.clear()
                await self._abandon_jobs()
            if not self._stopping:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def shutdown(self, grace: float = 10.0) -> None:
        """Stop taking work; ask running jobs to stop at their next batch and report it."""
        self._stopping = True
        self._send(pb.WorkerMessage(leaving=pb.Leaving()))
        for ctx, _ in list(self.running.values()):
            ctx.stop_reason = "shutdown"
        tasks = [task for _, task in self.running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        self._outbox.put_nowait(None)

    async def _session(self) -> None:
        self._outbox = asyncio.Queue()
        async with grpc_server.channel(self.coordinator_addr) as channel:
            stub = pb_grpc.CoordinatorServiceStub(channel)
            call = stub.Connect(self._outgoing())
            hello = pb.WorkerHello(
                worker_id=self.worker_id,
                service=self.service,
                job_types=list(self.handlers),
                capacity=self.capacity,
            )
            self._outbox.put_nowait(pb.WorkerMessage(hello=hello))
            self._silence_limit, self._last_heard = 0.0, time.monotonic()
            heartbeat = asyncio.create_task(self._heartbeat())
            reader = asyncio.create_task(self._read(call))
            watchdog = asyncio.create_task(self._watch_silence())
            try:
                await asyncio.wait({reader, watchdog}, return_when=asyncio.FIRST_COMPLETED)
                if reader.done():
                    reader.result()  # the stream ended, or how it broke
                else:
                    logger.warning("%s; reconnecting", watchdog.result())
            finally:
                call.cancel()
                await cancel_and_wait(heartbeat, reader, watchdog)

    async def _read(self, call: AsyncIterator[pb.CoordinatorMessage]) -> None:
        async for message in call:
            self._last_heard = time.monotonic()
            self._on_message(message)

    async def _watch_silence(self) -> str:
        """Return why, once the coordinator has been silent past its limit: the link is dead though
        no error says so (gRPC's own keepalive took over a minute to notice one), and the coordinator
        is about to give these jobs to another worker. Before the Welcome the limit is
        ``welcome_timeout``: a connection opened into a dead route would otherwise wait for gRPC's
        own connect timeout (20 s), even after the route is back."""
        while True:
            silent_s = time.monotonic() - self._last_heard
            if not self.connected.is_set():
                if silent_s > self._welcome_timeout:
                    return f"no Welcome from the coordinator in {self._welcome_timeout:g}s"
                await asyncio.sleep(min(self._welcome_timeout - silent_s, 1.0) + 0.01)
            elif self._silence_limit <= 0:  # an older coordinator, which does not answer heartbeats
                await asyncio.sleep(1.0)
            elif silent_s > self._silence_limit:
                return f"heard nothing from the coordinator for {self._silence_limit:g}s; giving up my jobs"
            else:
                await asyncio.sleep(self._silence_limit - silent_s + 0.01)

    async def _outgoing(self) -> AsyncIterator[pb.WorkerMessage]:
        outbox = self._outbox
        while True:
            message = await outbox.get()
            if message is None:
                return
            yield message

    def _send(self, message: pb.WorkerMessage) -> None:
        self._outbox.put_nowait(message)

    async def _heartbeat(self) -> None:
        await self.connected.wait()  # the Welcome says how often
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            self._send(pb.WorkerMessage(heartbeat=pb.Heartbeat(lease_ids=list(self.running))))

    def _on_message(self, message: pb.CoordinatorMessage) -> None:
        kind = message.WhichOneof("kind")
        if kind == "welcome":
            self._heartbeat_interval = message.welcome.heartbeat_interval_seconds or 5.0
            self._stop_grace = message.welcome.stop_grace_seconds
            self._silence_limit = message.welcome.silence_limit_seconds
            self.connected.set()
        elif kind == "assignment":
            self._start(message.assignment)
        elif kind == "stop":
            self._stop(message.stop.lease_id, STOP_NAMES.get(message.stop.reason, "stop"))

    def _stop(self, lease_id: str, reason: str) -> None:
        """Ask the job to stop at its next report; cancel it if it has not after the stop grace
        (a handler stuck in a call that never returns would otherwise hold its slot for good)."""
        entry = self.running.get(lease_id)
        if entry is None:
            return
        entry[0].stop_reason = reason
        if self._stop_grace > 0 and lease_id not in self._force_timers:
            loop = asyncio.get_running_loop()
            self._force_timers[lease_id] = loop.call_later(self._stop_grace, self._force_stop, lease_id)

    def _force_stop(self, lease_id: str) -> None:
        self._force_timers.pop(lease_id, None)
        entry = self.running.pop(lease_id, None)
        if entry is None:
            return
        ctx, task = entry
        logger.warning("job %s did not stop within %gs; cancelling it", ctx.job_id, self._stop_grace)
        ctx.forced_after_s = self._stop_grace
        task.cancel()
        # Report it stopped and free its slot now: a call stuck on a silent connection may take
        # minutes to honour the cancel, and the slot must not wait for it.
        reason = f"{ctx.stop_reason}: cancelled by its worker after {self._stop_grace:g}s"
        self._send(ctx.finished(pb.OUTCOME_STOPPED, reason))
        if self._after_forced_stop is not None:
            recovery = asyncio.create_task(self._after_forced_stop(), name="after-forced-stop")
            self._recovering.add(recovery)
            recovery.add_done_callback(self._recovering.discard)

    def _start(self, assignment: pb.Assignment) -> None:
        ctx = JobContext(
            job_id=assignment.job_id,
            lease_id=assignment.lease_id,
            type=assignment.type,
            data=json.loads(assignment.data_json or "{}"),
            checkpoint=json.loads(assignment.checkpoint_json) if assignment.checkpoint_json else None,
            attempt=assignment.attempt,
            started_at=assignment.started_at.ToDatetime() if assignment.HasField("started_at") else None,
            total_items=assignment.total_items if assignment.has_total else None,
            _send=self._send,
        )
        if self._stopping:  # sent before the coordinator read our Leaving: hand it straight back
            self._send(ctx.finished(pb.OUTCOME_STOPPED, "shutdown"))
            return
        if ctx.checkpoint:
            ctx._last_checkpoint = ctx.checkpoint
            ctx.processed = int(ctx.checkpoint.get("processed", 0))
            ctx.failed = int(ctx.checkpoint.get("failed", 0))
            ctx.stats = dict(ctx.checkpoint.get("stats", {}))
        task = asyncio.create_task(self._run_job(ctx), name=f"job-{ctx.job_id}")
        self.running[ctx.lease_id] = (ctx, task)

    async def _run_job(self, ctx: JobContext) -> None:
        handler = self.handlers.get(ctx.type)
        requestid.current_job.set(ctx.job_id)  # this task's own context: its log lines name the job
        try:
            if handler is None:
                raise JobFailed(f"this worker has no handler for {ctx.type}")
            logger.info("job %s (%s) attempt %s starting", ctx.job_id, ctx.type, ctx.attempt)
            await handler(ctx)
            message = ctx.finished(pb.OUTCOME_COMPLETED)
        except StopRequested:
            message = ctx.finished(pb.OUTCOME_STOPPED, ctx.stop_reason or "")
        except JobFailed as exc:
            message = ctx.finished(pb.OUTCOME_FAILED, str(exc))
        except asyncio.CancelledError:
            if ctx.forced_after_s is None:
                raise  # the stream is gone: the coordinator requeues the job itself
            return  # _force_stop reported it
        except Exception as exc:
            if is_transient(exc):
                logger.warning(
                    "job %s hit a transient failure; it will be retried", ctx.job_id, exc_info=True
                )
                message = ctx.finished(pb.OUTCOME_RETRY, _first_line(f"{type(exc).__name__}: {exc}"))
            else:
                logger.exception("job %s crashed", ctx.job_id)
                message = ctx.finished(pb.OUTCOME_FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.running.pop(ctx.lease_id, None)
            timer = self._force_timers.pop(ctx.lease_id, None)
            if timer is not None:
                timer.cancel()
        if ctx.forced_after_s is not None:
            return  # it ended after all, but _force_stop reported it and gave its slot away
        logger.info("job %s finished: %s", ctx.job_id, pb.Outcome.Name(message.finished.outcome))
        self._send(message)

    async def _abandon_jobs(self) -> None:
        """Without a stream nobody can take our reports: stop every job; the coordinator requeues them."""
        await cancel_and_wait(*(task for _, task in self.running.values()))
        self.running.clear()


def _first_line(text: str, limit: int = 500) -> str:
    # Database errors carry SQL and backgrounds on later lines; the reason shown is the first.
    return text.strip().splitlines()[0][:limit] if text.strip() else text
