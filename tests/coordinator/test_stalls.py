"""Jobs that are alive but stuck: requeued when they stop making progress, and cancelled by their
worker when they do not stop after being told to."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.settings import Settings
from cocoa_common.worker import JobContext, WorkerRuntime
from cocoa_coordinator.server import CoordinatorApp

S = pb


async def stuck_on_first_attempt(ctx: JobContext) -> None:
    """Hangs (heartbeats go on: the worker's event loop is free) on attempt 1; works after that."""
    if ctx.attempt == 1:
        await asyncio.Event().wait()
    await counting_handler(ctx)


async def stuck(ctx: JobContext) -> None:
    await asyncio.Event().wait()


@pytest.fixture
def quick_stalls(coordinator: CoordinatorApp) -> None:
    """Stall after 0.6 s without progress; a stopped job that does not stop is cancelled after 0.3 s."""
    dispatcher = coordinator.dispatcher
    dispatcher.settings = dispatcher.settings.with_overrides(stall_timeout_s=0.6, stop_grace_s=0.3)


async def create(stub: pb_grpc.CoordinatorServiceStub, **data: object) -> pb.Job:
    return (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json=json.dumps(data)))).job


async def wait_until_idle(worker: WorkerRuntime, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if not worker.running:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"worker still runs {list(worker.running)}")


@pytest.mark.usefixtures("quick_stalls")
async def test_a_job_that_heartbeats_but_makes_no_progress_is_requeued_and_runs_again(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": stuck_on_first_attempt})
    job = await create(stub, items=4, batch=2)
    done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    assert done.attempt == 2
    assert done.processed_items == 4
    events = [e async for e in stub.WatchJob(pb.WatchJobRequest(id=job.id))]
    assert "requeued" in [e.kind for e in events]
    (stats,) = [t for t in (await stub.GetStats(pb.StatsRequest())).types if t.type == "geocoding"]
    assert dict(stats.requeues) == {"stalled": 1}
    assert stats.jobs_started == 2
    assert dict(stats.jobs_finished) == {"completed": 1}


@pytest.mark.usefixtures("quick_stalls")
async def test_a_job_that_never_progresses_fails_after_its_attempts_with_the_reason(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": stuck}, capacity=1)
    job = await create(stub)
    failed = await wait_for_status(stub, job.id, S.JOB_STATUS_FAILED, timeout=15)
    assert failed.failure_reason == "Gave up after 3 attempts: no progress for 0.6s"


@pytest.mark.usefixtures("quick_stalls")
async def test_a_job_that_ignores_a_cancel_is_cancelled_by_its_worker_and_frees_its_slot(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    worker = await start_worker({"geocoding": stuck}, capacity=1)
    job = await create(stub)
    await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    await wait_until_idle(worker)
    worker.handlers["geocoding"] = counting_handler
    after = await create(stub, items=2)  # one geocoding job at a time: it runs once the lease is free
    await wait_for_status(stub, after.id, S.JOB_STATUS_COMPLETED)
    assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).status == S.JOB_STATUS_CANCELLED


@pytest.mark.usefixtures("quick_stalls")
async def test_a_job_slow_to_honour_its_forced_cancel_frees_its_slot_at_once_and_the_pool_is_renewed(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp, start_worker: WorkerFactory
) -> None:
    release = asyncio.Event()

    async def deaf_to_cancel(ctx: JobContext) -> None:
        # As a call blocked on a silent connection: a cancel takes effect only when it returns.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        await release.wait()

    renewed = asyncio.Event()

    async def renew_pool() -> None:
        renewed.set()

    address = f"127.0.0.1:{coordinator.port}"
    runtime = WorkerRuntime(
        address, "test", {"geocoding": deaf_to_cancel}, capacity=1, after_forced_stop=renew_pool
    )
    worker = await start_worker(runtime=runtime)
    try:
        job = await create(stub)
        await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
        await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
        await wait_until_idle(worker)  # while the handler still hangs
        await asyncio.wait_for(renewed.wait(), 2)
        worker.handlers["geocoding"] = counting_handler
        after = await create(stub, items=2)
        await wait_for_status(stub, after.id, S.JOB_STATUS_COMPLETED)
        assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).status == S.JOB_STATUS_CANCELLED
    finally:
        release.set()


async def test_without_a_stop_grace_a_job_that_ignores_a_cancel_keeps_running(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    dispatcher = coordinator.dispatcher
    dispatcher.settings = dispatcher.settings.with_overrides(stop_grace_s=0)
    worker = await start_worker({"geocoding": stuck}, capacity=1)
    job = await create(stub)
    await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    await asyncio.sleep(0.6)
    assert list(worker.running)


def test_stall_timeout_and_stop_grace_come_from_the_environment() -> None:
    settings = Settings.from_env({"JOB_STALL_TIMEOUT_SECONDS": "0", "JOB_STOP_GRACE_SECONDS": "12.5"})
    assert (settings.stall_timeout_s, settings.stop_grace_s) == (0.0, 12.5)
    assert (Settings.from_env({}).stall_timeout_s, Settings.from_env({}).stop_grace_s) == (900.0, 30.0)
