"""Job priority: bounded on create, and changeable while a job waits (gRPC SetJobPriority)."""

from __future__ import annotations

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc


async def create(stub: pb_grpc.CoordinatorServiceStub, priority: int = 0) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json='{"items":1}', priority=priority)
    return (await stub.CreateJob(request)).job


async def set_priority(stub: pb_grpc.CoordinatorServiceStub, job_id: str, priority: int) -> pb.Job:
    return await stub.SetJobPriority(pb.SetJobPriorityRequest(id=job_id, priority=priority))


@pytest.mark.parametrize("priority", [-1001, 1001, 2**31 - 1])
async def test_a_priority_outside_minus_1000_to_1000_is_refused(
    stub: pb_grpc.CoordinatorServiceStub, priority: int
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(stub, priority)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "priority must be an integer between -1000 and 1000"


async def test_a_pending_job_gets_its_new_priority(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    changed = await set_priority(stub, job.id, 50)
    assert (changed.priority, changed.status) == (50, pb.JOB_STATUS_PENDING)
    assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).priority == 50


async def test_a_raised_priority_makes_a_later_job_start_first(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    first = await create(stub)
    second = await create(stub)
    await set_priority(stub, second.id, 10)
    await start_worker()
    jobs = [await wait_for_status(stub, j.id, pb.JOB_STATUS_COMPLETED) for j in (first, second)]
    assert jobs[1].started_at.ToNanoseconds() < jobs[0].started_at.ToNanoseconds()


async def test_a_paused_job_can_change_priority(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_PAUSE))
    assert (await set_priority(stub, job.id, -5)).priority == -5


async def test_a_finished_job_keeps_its_priority_and_the_refusal_names_its_status(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub)
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await set_priority(stub, job.id, 5)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == "Cannot change the priority of job with status: cancelled"
    assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).priority == 0


async def test_an_out_of_range_new_priority_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await set_priority(stub, job.id, 5000)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_changing_the_priority_of_an_unknown_job_is_not_found(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await set_priority(stub, "nope", 5)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_schedule_with_an_out_of_range_priority_is_refused(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    request = pb.CreateScheduleRequest(
        name="nightly", cron="0 2 * * *", type="geocoding", data_json="{}", priority=-2000
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateSchedule(request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
