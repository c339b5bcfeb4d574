"""Job dependencies: CreateJob's depends_on holds a job in pending until the jobs it names have
completed, and cancels it when one of them fails or is cancelled, through the real coordinator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.worker import JobContext, JobFailed

GEOCODING_ONLY = {"geocoding": counting_handler}  # voter_import jobs then wait for a worker


async def create(
    stub: pb_grpc.CoordinatorServiceStub, *depends_on: str, job_type: str = "geocoding", **data: object
) -> pb.Job:
    request = pb.CreateJobRequest(
        type=job_type, data_json=json.dumps({"items": 2, **data}), depends_on=depends_on
    )
    return (await stub.CreateJob(request)).job


@pytest.fixture
def voter_import(
    stub: pb_grpc.CoordinatorServiceStub, record_upload: Callable[..., str]
) -> Callable[..., Awaitable[pb.Job]]:
    """Creates voter_import jobs (over a recorded upload): with GEOCODING_ONLY workers, none runs."""

    async def make(*depends_on: str, **data: object) -> pb.Job:
        upload_id = record_upload("voter_import")
        return await create(stub, *depends_on, job_type="voter_import", uploadId=upload_id, **data)

    return make


ImportFactory = Callable[..., Awaitable[pb.Job]]


async def get(stub: pb_grpc.CoordinatorServiceStub, job_id: str) -> pb.Job:
    return await stub.GetJob(pb.GetJobRequest(id=job_id))


async def cancel(stub: pb_grpc.CoordinatorServiceStub, job_id: str) -> pb.Job:
    request = pb.ControlJobRequest(id=job_id, action=pb.CONTROL_ACTION_CANCEL)
    return (await stub.ControlJob(request)).job


async def refusal(stub: pb_grpc.CoordinatorServiceStub, *depends_on: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, *depends_on)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return info.value.details() or ""


async def fail_at_once(ctx: JobContext) -> None:
    raise JobFailed("the file is not a voter file")


async def test_a_job_runs_only_after_the_job_it_depends_on_has_completed(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory, start_worker: WorkerFactory
) -> None:
    await start_worker(capacity=2)
    first = await voter_import(items=6, batch=2, delay=0.2)
    then = await create(stub, first.id)
    assert (list(then.depends_on), list(then.waiting_for)) == ([first.id], [first.id])
    done = await wait_for_status(stub, then.id, pb.JOB_STATUS_COMPLETED)
    first_done = await get(stub, first.id)
    assert done.started_at.ToDatetime() >= first_done.completed_at.ToDatetime()
    assert (list(done.depends_on), list(done.waiting_for)) == ([first.id], [])


async def test_a_job_waiting_for_a_dependency_does_not_hold_up_the_jobs_behind_it(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory, start_worker: WorkerFactory
) -> None:
    await start_worker(GEOCODING_ONLY)
    unrun = await voter_import()
    waiting = await create(stub, unrun.id)
    free = await create(stub)
    await wait_for_status(stub, free.id, pb.JOB_STATUS_COMPLETED)
    still = await get(stub, waiting.id)
    assert still.status == pb.JOB_STATUS_PENDING
    assert list(still.waiting_for) == [unrun.id]


async def test_a_job_waits_for_every_job_it_names(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory, start_worker: WorkerFactory
) -> None:
    await start_worker(GEOCODING_ONLY)
    done = await create(stub)
    await wait_for_status(stub, done.id, pb.JOB_STATUS_COMPLETED)
    unrun = await voter_import()
    waiting = await create(stub, done.id, unrun.id)
    assert sorted(waiting.depends_on) == sorted([done.id, unrun.id])
    assert list(waiting.waiting_for) == [unrun.id]
    free = await create(stub)
    await wait_for_status(stub, free.id, pb.JOB_STATUS_COMPLETED)
    assert (await get(stub, waiting.id)).status == pb.JOB_STATUS_PENDING


async def test_a_job_depending_on_a_completed_job_runs_at_once(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    first = await create(stub)
    await wait_for_status(stub, first.id, pb.JOB_STATUS_COMPLETED)
    then = await create(stub, first.id)
    assert list(then.waiting_for) == []
    await wait_for_status(stub, then.id, pb.JOB_STATUS_COMPLETED)


async def test_cancelling_a_dependency_cancels_the_job_waiting_for_it_with_the_reason(
    stub: pb_grpc.CoordinatorServiceStub,
    voter_import: ImportFactory,
) -> None:
    first = await voter_import()
    then = await create(stub, first.id)
    await cancel(stub, first.id)
    cancelled = await wait_for_status(stub, then.id, pb.JOB_STATUS_CANCELLED)
    assert cancelled.failure_reason == f"Dependency {first.id} cancelled"
    assert cancelled.HasField("completed_at")
    assert not cancelled.HasField("started_at")


async def test_a_failed_dependency_cancels_the_job_waiting_for_it(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory, start_worker: WorkerFactory
) -> None:
    first = await voter_import()
    then = await create(stub, first.id)  # before a worker can fail the first: waiting on it is legal
    await start_worker({"voter_import": fail_at_once})
    await wait_for_status(stub, first.id, pb.JOB_STATUS_FAILED)
    cancelled = await wait_for_status(stub, then.id, pb.JOB_STATUS_CANCELLED)
    assert cancelled.failure_reason == f"Dependency {first.id} failed"


async def test_a_chain_of_waiting_jobs_is_cancelled_down_to_its_end(
    stub: pb_grpc.CoordinatorServiceStub,
    voter_import: ImportFactory,
) -> None:
    first = await voter_import()
    second = await create(stub, first.id)
    third = await create(stub, second.id)
    await cancel(stub, first.id)
    cancelled = await wait_for_status(stub, third.id, pb.JOB_STATUS_CANCELLED)
    assert cancelled.failure_reason == f"Dependency {second.id} cancelled"


async def test_a_paused_job_whose_dependency_is_cancelled_is_cancelled_too(
    stub: pb_grpc.CoordinatorServiceStub,
    voter_import: ImportFactory,
) -> None:
    first = await voter_import()
    then = await create(stub, first.id)
    await stub.ControlJob(pb.ControlJobRequest(id=then.id, action=pb.CONTROL_ACTION_PAUSE))
    await cancel(stub, first.id)
    await wait_for_status(stub, then.id, pb.JOB_STATUS_CANCELLED)


async def test_a_dependency_that_names_no_job_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    assert await refusal(stub, "nope") == "dependsOn names no job: 'nope'"


async def test_a_dependency_on_a_cancelled_job_is_refused(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory
) -> None:
    first = await voter_import()
    await cancel(stub, first.id)
    details = await refusal(stub, first.id)
    assert details.startswith(f"dependsOn names job {first.id}, which is cancelled")


async def test_more_than_twenty_dependencies_are_refused(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory
) -> None:
    firsts = [(await voter_import()).id for _ in range(21)]
    assert await refusal(stub, *firsts) == "dependsOn names at most 20 jobs"


async def test_a_dependency_named_twice_is_stored_once(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory
) -> None:
    first = await voter_import()
    then = await create(stub, first.id, first.id)
    assert list(then.depends_on) == [first.id]


async def test_retrying_a_cancelled_waiting_job_waits_for_the_retry_of_its_dependency(
    stub: pb_grpc.CoordinatorServiceStub,
    voter_import: ImportFactory,
) -> None:
    first = await voter_import()
    then = await create(stub, first.id)
    await cancel(stub, first.id)
    await wait_for_status(stub, then.id, pb.JOB_STATUS_CANCELLED)
    first_again = (await stub.RetryJob(pb.RetryJobRequest(id=first.id))).job
    then_again = (await stub.RetryJob(pb.RetryJobRequest(id=then.id))).job
    assert list(then_again.depends_on) == [first_again.id]
    assert then_again.status == pb.JOB_STATUS_PENDING


async def test_retrying_a_waiting_job_before_its_dependency_is_retried_is_refused(
    stub: pb_grpc.CoordinatorServiceStub,
    voter_import: ImportFactory,
) -> None:
    first = await voter_import()
    then = await create(stub, first.id)
    await cancel(stub, first.id)
    await wait_for_status(stub, then.id, pb.JOB_STATUS_CANCELLED)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.RetryJob(pb.RetryJobRequest(id=then.id))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "retry it, then wait for the retry" in (info.value.details() or "")


async def test_queue_stats_count_a_waiting_job_as_waiting_not_pending(
    stub: pb_grpc.CoordinatorServiceStub,
    voter_import: ImportFactory,
) -> None:
    first = await voter_import()
    await create(stub, first.id)
    stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    geocoding = stats["geocoding"]
    assert (geocoding.jobs_by_status["pending"], geocoding.jobs_by_status["waiting"]) == (0, 1)
    assert geocoding.oldest_pending_age_seconds == 0  # nothing is ready for a worker
    assert stats["voter_import"].jobs_by_status["pending"] == 1


async def test_listed_jobs_show_what_they_wait_for(
    stub: pb_grpc.CoordinatorServiceStub, voter_import: ImportFactory
) -> None:
    first = await voter_import()
    then = await create(stub, first.id)
    listed = {j.id: j for j in (await stub.ListJobs(pb.ListJobsRequest(limit=10))).jobs}
    assert list(listed[then.id].waiting_for) == [first.id]
    assert list(listed[first.id].depends_on) == []
