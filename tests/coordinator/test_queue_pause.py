"""SetQueuePaused: a paused queue dispatches none of its type's jobs, through the real coordinator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc


async def create(stub: pb_grpc.CoordinatorServiceStub, **data: object) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json=json.dumps({"items": 2, **data}))
    return (await stub.CreateJob(request)).job


async def set_paused(stub: pb_grpc.CoordinatorServiceStub, job_type: str, paused: bool) -> pb.TypeStats:
    return await stub.SetQueuePaused(
        pb.SetQueuePausedRequest(type=job_type, paused=paused, requested_by_id="ops1")
    )


async def test_a_paused_queue_dispatches_none_of_its_jobs(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    await set_paused(stub, "geocoding", True)
    job = await create(stub)
    await asyncio.sleep(1.5)  # a few scheduler passes
    assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).status == pb.JOB_STATUS_PENDING


async def test_resuming_a_queue_runs_its_waiting_jobs(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    await set_paused(stub, "geocoding", True)
    job = await create(stub)
    await set_paused(stub, "geocoding", False)
    await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)


async def test_pausing_a_queue_lets_its_running_job_finish(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    running = await create(stub, items=6, batch=2, delay=0.2)
    await wait_for_status(stub, running.id, pb.JOB_STATUS_PROCESSING)
    await set_paused(stub, "geocoding", True)
    await wait_for_status(stub, running.id, pb.JOB_STATUS_COMPLETED)


async def test_pausing_one_queue_leaves_the_others_running(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, record_upload: Callable[..., str]
) -> None:
    await start_worker()
    await set_paused(stub, "geocoding", True)
    upload_id = record_upload("voter_import")
    request = pb.CreateJobRequest(
        type="import_voters", data_json=json.dumps({"uploadId": upload_id, "items": 2})
    )
    other = (await stub.CreateJob(request)).job
    await wait_for_status(stub, other.id, pb.JOB_STATUS_COMPLETED)


async def test_the_stats_say_who_paused_a_queue_and_when(stub: pb_grpc.CoordinatorServiceStub) -> None:
    stats = await set_paused(stub, "geocode_households", True)  # an alias names its type's queue
    assert (stats.type, stats.paused_by_id) == ("geocoding", "ops1")
    assert stats.HasField("paused_at")
    listed = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    assert listed["geocoding"].paused_at == stats.paused_at
    assert not listed["voter_import"].HasField("paused_at")


async def test_pausing_a_paused_queue_keeps_its_first_pause(stub: pb_grpc.CoordinatorServiceStub) -> None:
    first = await set_paused(stub, "geocoding", True)
    again = await stub.SetQueuePaused(
        pb.SetQueuePausedRequest(type="geocoding", paused=True, requested_by_id="x")
    )
    assert (again.paused_at, again.paused_by_id) == (first.paused_at, "ops1")


async def test_resuming_clears_the_pause(stub: pb_grpc.CoordinatorServiceStub) -> None:
    await set_paused(stub, "geocoding", True)
    stats = await set_paused(stub, "geocoding", False)
    assert (stats.HasField("paused_at"), stats.paused_by_id) == (False, "")


async def test_an_unknown_queue_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await set_paused(stub, "mailing", True)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "Unknown queue: mailing"
