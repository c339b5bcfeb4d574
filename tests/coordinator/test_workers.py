"""ListWorkers and SetWorkerDraining: the connected worker processes, and draining one."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import requestid
from cocoa_common.worker import JobContext
from cocoa_coordinator.server import CoordinatorApp


async def create(stub: pb_grpc.CoordinatorServiceStub, data: str = '{"items":4,"batch":1}') -> pb.Job:
    return (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json=data))).job


async def workers(stub: pb_grpc.CoordinatorServiceStub) -> list[pb.WorkerInfo]:
    return list((await stub.ListWorkers(pb.ListWorkersRequest())).workers)


async def drain(stub: pb_grpc.CoordinatorServiceStub, worker_id: str, draining: bool = True) -> pb.WorkerInfo:
    return await stub.SetWorkerDraining(pb.SetWorkerDrainingRequest(worker_id=worker_id, draining=draining))


async def test_a_connected_worker_is_listed_with_its_service_types_and_address(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(capacity=3, worker_id="w-1")
    [worker] = await workers(stub)
    assert (worker.worker_id, worker.service, worker.capacity) == ("w-1", "test", 3)
    assert list(worker.job_types) == ["geocoding", "voter_import"]
    assert worker.peer.startswith("ipv4:127.0.0.1:")
    assert worker.last_seen_at.ToNanoseconds() >= worker.connected_at.ToNanoseconds()
    assert not worker.draining


async def test_a_worker_lists_the_jobs_it_holds(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(worker_id="w-1")
    job = await create(stub, '{"items":20,"batch":1,"delay":0.1}')
    await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING)
    [worker] = await workers(stub)
    assert list(worker.job_ids) == [job.id]


async def test_a_stopped_worker_is_no_longer_listed(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    runtime = await start_worker(worker_id="w-1")
    await runtime.shutdown(grace=1.0)
    for _ in range(100):  # 100 × 0.02 s
        if not await workers(stub):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the stopped worker is still listed")


async def test_a_draining_worker_finishes_its_job_and_takes_no_new_one(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(worker_id="w-1")
    running = await create(stub, '{"items":6,"batch":1,"delay":0.05}')
    await wait_for_status(stub, running.id, pb.JOB_STATUS_PROCESSING)
    assert (await drain(stub, "w-1")).draining
    waiting = await create(stub)
    await wait_for_status(stub, running.id, pb.JOB_STATUS_COMPLETED)
    await asyncio.sleep(0.3)
    assert (await stub.GetJob(pb.GetJobRequest(id=waiting.id))).status == pb.JOB_STATUS_PENDING


async def test_a_drained_worker_takes_jobs_again_once_that_is_taken_back(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(worker_id="w-1")
    await drain(stub, "w-1")
    job = await create(stub)
    await asyncio.sleep(0.2)
    assert not (await drain(stub, "w-1", draining=False)).draining
    await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)


async def test_a_draining_worker_s_slots_leave_the_queue_s_capacity(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(capacity=2, worker_id="w-1")
    await start_worker(capacity=3, worker_id="w-2")
    await drain(stub, "w-2")
    stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    assert (stats["geocoding"].workers, stats["geocoding"].worker_slots) == (2, 2)


async def test_draining_an_unknown_worker_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await drain(stub, "nobody")
    assert (missing.value.code(), missing.value.details()) == (grpc.StatusCode.NOT_FOUND, "Worker not found")


async def test_a_worker_shutting_down_hands_its_jobs_back_without_charging_an_attempt(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    """The lifecycle property test found a job handed back being given straight back to the leaving
    worker (the only one of its type), which then abandoned it at the cost of an attempt."""
    coordinator.dispatcher.settings = coordinator.dispatcher.settings.with_overrides(
        concurrency={"geocoding": 2}
    )
    worker = await start_worker({"geocoding": counting_handler}, capacity=2)
    long = '{"items": 1000, "batch": 1, "delay": 0.05}'
    jobs = [await create(stub, long), await create(stub, long)]
    for job in jobs:
        await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING)
    await worker.shutdown(grace=5)
    await asyncio.sleep(4)  # past the 3 s lease of a job given to the leaving worker
    after = [await stub.GetJob(pb.GetJobRequest(id=job.id)) for job in jobs]
    assert [(j.status, j.attempt) for j in after] == [(pb.JOB_STATUS_PENDING, 1)] * 2


async def test_log_lines_written_while_a_worker_runs_a_job_name_the_job(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    seen: list[str] = []

    class Noting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(getattr(record, "job_id", "?"))

    handler = Noting()
    handler.addFilter(requestid.LogFilter())
    job_logger = logging.getLogger("test.job")
    job_logger.addHandler(handler)
    job_logger.setLevel(logging.INFO)

    async def logging_handler(ctx: JobContext) -> None:
        job_logger.info("working")

    try:
        await start_worker({"geocoding": logging_handler})
        job = await create(stub)
        await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)
        job_logger.info("outside the job")
    finally:
        job_logger.removeHandler(handler)
    assert seen == [job.id, requestid.NONE]
