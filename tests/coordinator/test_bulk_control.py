"""BulkControlJobs: one action over many jobs, named or filtered, through the real coordinator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc


def later() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    return stamp


async def create(
    stub: pb_grpc.CoordinatorServiceStub, job_type: str = "geocoding", user: str = "u1"
) -> pb.Job:
    """A job that stays pending (delayed an hour), so nothing runs it meanwhile."""
    request = pb.CreateJobRequest(
        type=job_type, data_json=json.dumps({"items": 2}), created_by_id=user, run_at=later()
    )
    return (await stub.CreateJob(request)).job


async def bulk(
    stub: pb_grpc.CoordinatorServiceStub, action: int, **request: object
) -> pb.BulkControlResponse:
    return await stub.BulkControlJobs(pb.BulkControlRequest(action=action, **request))  # type: ignore[arg-type]


async def status_of(stub: pb_grpc.CoordinatorServiceStub, job_id: str) -> int:
    return (await stub.GetJob(pb.GetJobRequest(id=job_id))).status


async def test_bulk_cancel_cancels_every_job_named(stub: pb_grpc.CoordinatorServiceStub) -> None:
    jobs = [await create(stub) for _ in range(3)]
    response = await bulk(stub, pb.BULK_ACTION_CANCEL, ids=[j.id for j in jobs])
    assert [(r.id, r.ok, r.job.status) for r in response.results] == [
        (j.id, True, pb.JOB_STATUS_CANCELLED) for j in jobs
    ]
    assert [await status_of(stub, j.id) for j in jobs] == [pb.JOB_STATUS_CANCELLED] * 3


async def test_a_job_that_cannot_move_is_reported_and_the_rest_still_move(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    done, pending = await create(stub), await create(stub)
    await stub.ControlJob(pb.ControlJobRequest(id=done.id, action=pb.CONTROL_ACTION_CANCEL))
    response = await bulk(stub, pb.BULK_ACTION_PAUSE, ids=[done.id, "nope", pending.id])
    assert [(r.id, r.ok, r.error) for r in response.results] == [
        (done.id, False, "Cannot pause job with status: cancelled"),
        ("nope", False, "Job not found"),
        (pending.id, True, ""),
    ]
    assert await status_of(stub, pending.id) == pb.JOB_STATUS_PAUSED


async def test_a_filter_acts_only_on_the_jobs_the_action_applies_to(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    paused, pending = await create(stub), await create(stub)
    await stub.ControlJob(pb.ControlJobRequest(id=paused.id, action=pb.CONTROL_ACTION_PAUSE))
    response = await bulk(stub, pb.BULK_ACTION_RESUME, types=["geocoding"])
    assert [r.id for r in response.results] == [paused.id]
    assert await status_of(stub, pending.id) == pb.JOB_STATUS_PENDING


async def test_a_bulk_promote_by_filter_runs_only_the_delayed_jobs_now(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    delayed = await create(stub)
    due = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json='{"items": 2}'))).job
    response = await bulk(stub, pb.BULK_ACTION_PROMOTE, statuses=[pb.JOB_STATUS_PENDING])
    assert [(r.id, r.ok) for r in response.results] == [(delayed.id, True)]
    promoted = await stub.GetJob(pb.GetJobRequest(id=delayed.id))
    assert promoted.available_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    assert due.id not in [r.id for r in response.results]


async def test_a_filter_narrows_by_type_and_creator(stub: pb_grpc.CoordinatorServiceStub) -> None:
    mine = await create(stub, "geocode_households", user="u1")
    await create(stub, "geocoding", user="u2")
    response = await bulk(stub, pb.BULK_ACTION_CANCEL, types=["geocoding"], created_by_id="u1")
    assert [r.id for r in response.results] == [mine.id]


async def test_a_filter_by_creation_time_alone_acts_on_the_jobs_created_in_that_window(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    older, inside, newer = [await create(stub) for _ in range(3)]
    response = await bulk(
        stub, pb.BULK_ACTION_CANCEL, created_after=inside.created_at, created_before=newer.created_at
    )
    assert [r.id for r in response.results] == [inside.id]
    assert await status_of(stub, older.id) == await status_of(stub, newer.id) == pb.JOB_STATUS_PENDING


async def test_a_filter_takes_at_most_the_limit_newest_first_and_says_how_many_remain(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    jobs = [await create(stub) for _ in range(5)]
    response = await bulk(stub, pb.BULK_ACTION_CANCEL, statuses=[pb.JOB_STATUS_PENDING], limit=2)
    assert [r.id for r in response.results] == [jobs[4].id, jobs[3].id]
    assert response.remaining == 3
    again = await bulk(stub, pb.BULK_ACTION_CANCEL, statuses=[pb.JOB_STATUS_PENDING], limit=2)
    assert (len(again.results), again.remaining) == (2, 1)


async def test_bulk_retry_retries_each_failed_or_cancelled_job_once(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    jobs = [await create(stub) for _ in range(2)]
    await bulk(stub, pb.BULK_ACTION_CANCEL, ids=[j.id for j in jobs])
    first = await bulk(stub, pb.BULK_ACTION_RETRY, statuses=[pb.JOB_STATUS_CANCELLED], requested_by_id="u9")
    assert sorted(r.job.retry_of for r in first.results) == sorted(j.id for j in jobs)
    assert all(r.created and r.job.created_by_id == "u9" for r in first.results)
    second = await bulk(stub, pb.BULK_ACTION_RETRY, statuses=[pb.JOB_STATUS_CANCELLED])
    assert (list(second.results), second.remaining) == ([], 0)  # the retried ones do not match again


async def test_bulk_retry_of_a_job_named_twice_answers_its_first_retry(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub)
    await bulk(stub, pb.BULK_ACTION_CANCEL, ids=[job.id])
    first = (await bulk(stub, pb.BULK_ACTION_RETRY, ids=[job.id])).results[0]
    again = (await bulk(stub, pb.BULK_ACTION_RETRY, ids=[job.id])).results[0]
    assert (first.created, again.created, again.job.id) == (True, False, first.job.id)


async def test_an_empty_filter_is_refused_rather_than_acting_on_every_job(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    await create(stub)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await bulk(stub, pb.BULK_ACTION_CANCEL)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == (
        "Name the jobs (ids) or filter them by status, type, creator, search, creation time or group"
    )


async def test_more_than_200_ids_are_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await bulk(stub, pb.BULK_ACTION_CANCEL, ids=[f"job{i}" for i in range(201)])
    assert info.value.details() == "ids names at most 200 jobs"


async def test_an_unspecified_action_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await bulk(stub, pb.BULK_ACTION_UNSPECIFIED, ids=["x"])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "Invalid action. Expected pause, resume, cancel, retry, or promote."
