"""SetQueueConcurrency: a type's concurrency limit changed at run time, through the real coordinator."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc

SLOW = {"items": 20, "batch": 1, "delay": 0.05}


async def create(stub: pb_grpc.CoordinatorServiceStub) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json=json.dumps(SLOW))
    return (await stub.CreateJob(request)).job


async def set_concurrency(
    stub: pb_grpc.CoordinatorServiceStub, job_type: str, concurrency: int
) -> pb.TypeStats:
    return await stub.SetQueueConcurrency(
        pb.SetQueueConcurrencyRequest(type=job_type, concurrency=concurrency)
    )


async def processing(stub: pb_grpc.CoordinatorServiceStub, jobs: list[pb.Job]) -> int:
    statuses = [(await stub.GetJob(pb.GetJobRequest(id=j.id))).status for j in jobs]
    return statuses.count(pb.JOB_STATUS_PROCESSING)


async def test_the_configured_limit_is_reported_until_one_is_set(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    assert (stats["geocoding"].concurrency, stats["geocoding"].concurrency_set) == (1, False)


async def test_a_raised_limit_runs_more_jobs_at_once_without_a_restart(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(capacity=4)
    jobs = [await create(stub) for _ in range(3)]
    await wait_for_status(stub, jobs[0].id, pb.JOB_STATUS_PROCESSING)
    assert await processing(stub, jobs) == 1
    stats = await set_concurrency(stub, "geocoding", 3)
    assert (stats.concurrency, stats.concurrency_set) == (3, True)
    for _ in range(100):  # 100 × 0.02 s
        if await processing(stub, jobs) == 3:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the raised limit did not start the waiting jobs")


async def test_a_lowered_limit_lets_running_jobs_finish_and_starts_fewer(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await set_concurrency(stub, "geocoding", 2)
    await start_worker(capacity=4)
    jobs = [await create(stub) for _ in range(3)]
    for job in jobs[:2]:
        await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING)
    await set_concurrency(stub, "geocoding", 1)
    await wait_for_status(stub, jobs[0].id, pb.JOB_STATUS_COMPLETED)
    await wait_for_status(stub, jobs[1].id, pb.JOB_STATUS_COMPLETED)
    assert (await stub.GetJob(pb.GetJobRequest(id=jobs[1].id))).processed_items == 20
    await wait_for_status(stub, jobs[2].id, pb.JOB_STATUS_COMPLETED)


async def test_zero_goes_back_to_the_configured_limit(stub: pb_grpc.CoordinatorServiceStub) -> None:
    await set_concurrency(stub, "import_voters", 5)  # an alias names its type's queue
    stats = await set_concurrency(stub, "voter_import", 0)
    assert (stats.type, stats.concurrency, stats.concurrency_set) == ("voter_import", 1, False)


@pytest.mark.parametrize("concurrency", [-1, 1001])
async def test_a_limit_outside_1_to_1000_is_refused(
    stub: pb_grpc.CoordinatorServiceStub, concurrency: int
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await set_concurrency(stub, "geocoding", concurrency)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_limit_of_an_unknown_queue_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await set_concurrency(stub, "nothing", 2)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
