"""Delayed jobs: CreateJob's run_at holds a job in pending until then, through the real coordinator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_status
from google.protobuf.timestamp_pb2 import Timestamp

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc


def at(delta: timedelta) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + delta)
    return stamp


async def create(stub: pb_grpc.CoordinatorServiceStub, run_at: Timestamp) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json=json.dumps({"items": 2}), run_at=run_at)
    return (await stub.CreateJob(request)).job


async def test_a_delayed_job_waits_in_pending_until_its_time(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, at(timedelta(seconds=1.5)))
    assert job.status == pb.JOB_STATUS_PENDING
    assert job.HasField("available_at")
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, timeout=10)
    assert done.started_at.ToDatetime() >= job.available_at.ToDatetime()


async def test_a_delayed_job_does_not_hold_up_the_jobs_behind_it(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    later = await create(stub, at(timedelta(hours=1)))
    now = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json='{"items": 2}'))).job
    await wait_for_status(stub, now.id, pb.JOB_STATUS_COMPLETED)
    assert (await stub.GetJob(pb.GetJobRequest(id=later.id))).status == pb.JOB_STATUS_PENDING


async def test_a_run_at_in_the_past_runs_at_once(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, at(-timedelta(minutes=5)))
    assert not job.HasField("available_at")
    await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)


async def test_a_run_at_more_than_30_days_ahead_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, at(timedelta(days=31)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "runAt must be at most 30 days from now"


async def test_a_run_at_that_is_no_valid_timestamp_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, Timestamp(seconds=2**62))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "run_at is not a valid timestamp"


async def test_queue_stats_count_a_delayed_job_as_scheduled_not_pending(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    await create(stub, at(timedelta(hours=2)))
    stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    geocoding = stats["geocoding"]
    assert (geocoding.jobs_by_status["pending"], geocoding.jobs_by_status["scheduled"]) == (0, 1)
    assert geocoding.oldest_pending_age_seconds == 0  # nothing is waiting for a worker


async def promote(stub: pb_grpc.CoordinatorServiceStub, job_id: str) -> pb.Job:
    return await stub.PromoteJob(pb.PromoteJobRequest(id=job_id, requested_by_id="u1"))


async def test_a_promoted_job_runs_now_instead_of_at_its_time(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, at(timedelta(hours=1)))
    promoted = await promote(stub, job.id)
    assert promoted.available_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)


async def test_a_promotion_is_in_the_job_s_history_with_who_asked(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub, at(timedelta(hours=1)))
    await promote(stub, job.id)
    events = (await stub.GetJobHistory(pb.JobHistoryRequest(id=job.id))).events
    assert (events[-1].kind, events[-1].by_id) == ("promoted", "u1")
    assert events[-1].detail.startswith("due now instead of ")


async def test_a_job_that_is_not_delayed_cannot_be_promoted(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json='{"items": 2}'))).job
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await promote(stub, job.id)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == f"Job {job.id} is not delayed: it runs as soon as it can"


async def test_a_cancelled_job_cannot_be_promoted_and_the_refusal_names_its_status(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub, at(timedelta(hours=1)))
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await promote(stub, job.id)
    assert refused.value.details() == "Cannot promote job with status: cancelled"


async def test_promoting_an_unknown_job_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await promote(stub, "cnosuchjob")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
