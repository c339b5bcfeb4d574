"""GetJobHistory: a job's lifecycle events, oldest first, with what each meant and who asked."""

from __future__ import annotations

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc


async def create(stub: pb_grpc.CoordinatorServiceStub, **fields: object) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json='{"items":4,"batch":1}', **fields)
    return (await stub.CreateJob(request)).job


async def history(stub: pb_grpc.CoordinatorServiceStub, job_id: str, limit: int = 0) -> pb.JobHistory:
    return await stub.GetJobHistory(pb.JobHistoryRequest(id=job_id, limit=limit))


def kinds(found: pb.JobHistory) -> list[str]:
    return [event.kind for event in found.events]


async def control(stub: pb_grpc.CoordinatorServiceStub, job_id: str, action: int, by: str = "u2") -> None:
    await stub.ControlJob(pb.ControlJobRequest(id=job_id, action=action, requested_by_id=by))


async def test_a_new_job_s_history_is_its_creation_by_its_creator(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub, created_by_id="u1")
    found = await history(stub, job.id)
    assert [(e.kind, e.by_id, e.detail) for e in found.events] == [("created", "u1", "")]
    assert not found.truncated


async def test_the_creation_says_what_holds_the_job_back(stub: pb_grpc.CoordinatorServiceStub) -> None:
    first = await create(stub)
    job = await create(stub, priority=5, depends_on=[first.id])
    [created] = (await history(stub, job.id)).events
    assert created.detail == f"priority 5; after {first.id}"


async def test_a_run_is_started_on_a_worker_and_completed_with_its_counts(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(worker_id="worker-a")
    job = await create(stub)
    await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)
    found = await history(stub, job.id)
    assert kinds(found) == ["created", "started", "completed"]  # progress reports are left out
    assert found.events[1].detail == "attempt 1 on worker worker-a"
    assert found.events[2].detail == "4 items processed, 0 failed"


async def test_pause_resume_and_cancel_name_who_asked(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    await control(stub, job.id, pb.CONTROL_ACTION_PAUSE, by="u2")
    await control(stub, job.id, pb.CONTROL_ACTION_RESUME, by="u3")
    await control(stub, job.id, pb.CONTROL_ACTION_CANCEL, by="u4")
    found = await history(stub, job.id)
    assert [(e.kind, e.by_id) for e in found.events[1:]] == [
        ("paused", "u2"),
        ("resumed", "u3"),
        ("cancelled", "u4"),
    ]


async def test_a_priority_change_says_from_what_to_what(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub, priority=2)
    await stub.SetJobPriority(pb.SetJobPriorityRequest(id=job.id, priority=9, requested_by_id="u5"))
    last = (await history(stub, job.id)).events[-1]
    assert (last.kind, last.detail, last.by_id) == ("reprioritized", "priority 2 → 9", "u5")


async def test_a_job_cancelled_for_its_dependency_says_which(stub: pb_grpc.CoordinatorServiceStub) -> None:
    first = await create(stub)
    job = await create(stub, depends_on=[first.id])
    await control(stub, first.id, pb.CONTROL_ACTION_CANCEL)
    await wait_for_status(stub, job.id, pb.JOB_STATUS_CANCELLED)
    last = (await history(stub, job.id)).events[-1]
    assert (last.kind, last.detail) == ("cancelled", f"Dependency {first.id} cancelled")


async def test_a_retry_s_creation_names_its_source(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await create(stub)
    await control(stub, source.id, pb.CONTROL_ACTION_CANCEL)
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=source.id, created_by_id="u6"))).job
    [created] = (await history(stub, retry.id)).events
    assert (created.detail, created.by_id) == (f"retry of {source.id}", "u6")


async def test_the_latest_events_are_kept_when_there_are_more_than_the_limit(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub)
    for _ in range(3):
        await control(stub, job.id, pb.CONTROL_ACTION_PAUSE)
        await control(stub, job.id, pb.CONTROL_ACTION_RESUME)
    found = await history(stub, job.id, limit=2)
    assert (kinds(found), found.truncated) == (["paused", "resumed"], True)


async def test_events_are_in_order_with_their_times(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub)
    await control(stub, job.id, pb.CONTROL_ACTION_PAUSE)
    events = (await history(stub, job.id)).events
    assert events[0].seq < events[1].seq
    assert events[0].created_at.ToNanoseconds() <= events[1].created_at.ToNanoseconds()
    assert not events[0].HasField("job")  # a history carries no job snapshots


async def test_the_history_of_an_unknown_job_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await history(stub, "cnosuchjob")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
