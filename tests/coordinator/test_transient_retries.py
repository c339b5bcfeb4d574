"""A job whose worker hits a transient failure (the database or a service unreachable) runs again
from its checkpoint after a backoff, as another attempt, through the real coordinator and workers."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import grpc
import psycopg
import pytest
import sqlalchemy.exc
from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.settings import Settings
from cocoa_common.worker import JobContext, JobFailed, Transient, is_transient
from cocoa_coordinator.server import CoordinatorApp

BACKOFF_S = 0.5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(retry_backoff_s=BACKOFF_S, retry_backoff_max_s=1.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_database() -> None:
    """A real transient failure: PostgreSQL refusing the connection."""
    psycopg.connect(f"postgresql://postgres@127.0.0.1:{closed_port()}/test", connect_timeout=2)


async def failing_first(ctx: JobContext) -> None:
    """Half the items, then the database is gone on the first attempt; all of them on the next."""
    if ctx.attempt == 1 and (ctx.checkpoint or {}).get("next", 0) == 0:
        items = int(ctx.data["items"])
        await counting_handler(_with(ctx, items=items // 2))
        await asyncio.to_thread(unreachable_database)
    await counting_handler(ctx)


def _with(ctx: JobContext, **data: object) -> JobContext:
    ctx.data = {**ctx.data, **data}
    return ctx


async def always_unreachable(ctx: JobContext) -> None:
    await asyncio.to_thread(unreachable_database)


async def bad_input(ctx: JobContext) -> None:
    raise ValueError("a bug, not an outage")


async def requeued(stub: pb_grpc.CoordinatorServiceStub, job_id: str) -> pb.Job:
    """The job once it is back in pending for its second attempt (bounded in time)."""
    for _ in range(200):  # 200 × 0.025 s
        job = await stub.GetJob(pb.GetJobRequest(id=job_id))
        if job.status == pb.JOB_STATUS_PENDING and job.attempt >= 2:
            return job
        await asyncio.sleep(0.025)
    raise AssertionError(f"job {job_id} was not requeued: {pb.JobStatus.Name(job.status)}")


async def create(stub: pb_grpc.CoordinatorServiceStub, **data: object) -> pb.Job:
    response = await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json=json.dumps(data)))
    return response.job


async def test_a_transient_failure_retries_from_the_checkpoint_after_a_backoff(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": failing_first})
    job = await create(stub, items=10, batch=1)
    waiting = await requeued(stub, job.id)
    started_wait = time.monotonic()
    assert waiting.attempt == 2
    assert waiting.failure_reason.startswith(
        f"transient failure, retried after {BACKOFF_S:g}s: OperationalError"
    )
    assert waiting.HasField("available_at")
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)
    assert time.monotonic() - started_wait >= BACKOFF_S * 0.8
    assert done.processed_items == 10
    assert json.loads(done.output_stats_json)["runs"] == [0, 5]  # resumed where the first attempt stopped


async def test_the_history_says_why_the_job_was_requeued_and_when_it_runs_again(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": failing_first})
    job = await create(stub, items=10, batch=1)
    await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)
    events = (await stub.GetJobHistory(pb.JobHistoryRequest(id=job.id))).events
    assert [e.kind for e in events] == ["created", "started", "requeued", "started", "completed"]
    assert events[2].detail.startswith(f"transient failure, retried after {BACKOFF_S:g}s: OperationalError")
    assert "; next attempt after " in events[2].detail
    assert events[3].detail.startswith("attempt 2 on worker ")


async def test_a_backing_off_job_is_not_dispatched_before_its_time(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": always_unreachable})
    job = await create(stub)
    waiting = await requeued(stub, job.id)
    available = waiting.available_at.ToDatetime().timestamp()
    assert available - waiting.updated_at.ToDatetime().timestamp() == pytest.approx(BACKOFF_S, abs=0.05)
    second = await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING, pb.JOB_STATUS_FAILED, timeout=10)
    assert second.heartbeat_at.ToDatetime().timestamp() >= available  # claimed again only once it was due


async def test_transient_failures_that_persist_fail_the_job_after_max_attempts(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    await start_worker({"geocoding": always_unreachable})
    job = await create(stub)
    failed = await wait_for_status(stub, job.id, pb.JOB_STATUS_FAILED, timeout=15)
    attempts = coordinator.dispatcher.settings.max_attempts
    assert failed.attempt == attempts
    assert failed.failure_reason.startswith(f"Gave up after {attempts} attempts: transient failure")


async def test_a_job_created_with_one_attempt_fails_at_its_first_transient_failure(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": always_unreachable})
    request = pb.CreateJobRequest(type="geocoding", data_json='{"items":4}', max_attempts=1)
    job = (await stub.CreateJob(request)).job
    failed = await wait_for_status(stub, job.id, pb.JOB_STATUS_FAILED)
    assert failed.attempt == 1
    assert failed.failure_reason.startswith("Gave up after 1 attempt: transient failure")


async def test_an_error_that_is_not_transient_fails_the_job_at_once(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": bad_input})
    job = await create(stub)
    failed = await wait_for_status(stub, job.id, pb.JOB_STATUS_FAILED)
    assert failed.attempt == 1
    assert failed.failure_reason == "Unexpected error: ValueError: a bug, not an outage"


@pytest.mark.parametrize(
    "exc",
    [
        Transient("the geocoding service is down"),
        ConnectionResetError(),
        TimeoutError(),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("deadlock detected")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_outages_count_as_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad value"),
        KeyError("uploadId"),
        JobFailed("bad file"),
        sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bugs_and_bad_input_do_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_an_unavailable_service_is_transient_but_a_refusal_is_not() -> None:
    def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
        return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="x")

    assert is_transient(rpc_error(grpc.StatusCode.UNAVAILABLE))
    assert not is_transient(rpc_error(grpc.StatusCode.INVALID_ARGUMENT))


def test_the_backoff_doubles_per_attempt_up_to_its_cap() -> None:
    settings = Settings.from_env({}).with_overrides(retry_backoff_s=5.0, retry_backoff_max_s=30.0)
    assert [settings.retry_backoff_for(a) for a in (1, 2, 3, 4, 5)] == [5.0, 10.0, 20.0, 30.0, 30.0]
