"""A job's start-by time (CreateJob's expires_at, Celery's expires): not started by then, it is
cancelled with the reason, and so are the jobs waiting for it."""

from __future__ import annotations

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


async def create(
    stub: pb_grpc.CoordinatorServiceStub, data: str = '{"items": 2}', **request: object
) -> pb.Job:
    create = pb.CreateJobRequest(type="geocoding", data_json=data, **request)  # type: ignore[arg-type]
    return (await stub.CreateJob(create)).job


async def test_a_job_not_started_by_its_expiry_is_cancelled_saying_so(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    job = await create(stub, expires_at=at(timedelta(seconds=1)))  # no worker runs it
    assert job.HasField("expires_at")
    cancelled = await wait_for_status(stub, job.id, pb.JOB_STATUS_CANCELLED)
    assert cancelled.failure_reason.startswith("Expired: not started by ")


async def test_a_job_that_started_before_its_expiry_runs_to_the_end(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, '{"items": 10, "batch": 1, "delay": 0.2}', expires_at=at(timedelta(seconds=1)))
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_CANCELLED)
    assert (done.status, done.processed_items) == (pb.JOB_STATUS_COMPLETED, 10)


async def test_a_job_waiting_for_an_expired_job_is_cancelled_too(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    first = await create(stub, expires_at=at(timedelta(seconds=1)))
    second = await create(stub, depends_on=[first.id])
    cancelled = await wait_for_status(stub, second.id, pb.JOB_STATUS_CANCELLED)
    assert cancelled.failure_reason == f"Dependency {first.id} cancelled"


async def test_a_retry_of_an_expired_job_has_no_expiry(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub, expires_at=at(timedelta(seconds=1)))
    await wait_for_status(stub, job.id, pb.JOB_STATUS_CANCELLED)
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=job.id))).job
    assert (retry.status, retry.HasField("expires_at")) == (pb.JOB_STATUS_PENDING, False)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"expires_at": at(-timedelta(seconds=5))}, "expiresAt must be in the future"),
        ({"expires_at": at(timedelta(days=31))}, "expiresAt must be at most 30 days from now"),
        (
            {"expires_at": at(timedelta(hours=1)), "run_at": at(timedelta(hours=2))},
            "expiresAt must be after runAt",
        ),
    ],
)
async def test_an_expiry_that_cannot_be_met_is_refused(
    stub: pb_grpc.CoordinatorServiceStub, request_: dict[str, object], message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(stub, **request_)
    assert (refused.value.code(), refused.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, message)
