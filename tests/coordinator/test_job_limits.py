"""A job's own limits: how many attempts it gets and how long it may run, set when it is created
(BullMQ's per-job ``attempts``, Celery's ``max_retries`` and ``time_limit``)."""

from __future__ import annotations

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_coordinator.server import CoordinatorApp


async def create(stub: pb_grpc.CoordinatorServiceStub, data: str = '{"items":1}', **limits: int) -> pb.Job:
    request = pb.CreateJobRequest(type="geocoding", data_json=data, **limits)
    return (await stub.CreateJob(request)).job


async def cancelled(stub: pb_grpc.CoordinatorServiceStub, **limits: int) -> pb.Job:
    job = await create(stub, **limits)
    request = pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL)
    return (await stub.ControlJob(request)).job


async def test_a_job_keeps_the_limits_it_was_created_with(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub, max_attempts=7, timeout_seconds=120)
    stored = await stub.GetJob(pb.GetJobRequest(id=job.id))
    assert (stored.max_attempts, stored.timeout_seconds) == (7, 120)


async def test_a_job_created_without_limits_takes_the_coordinator_s(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp
) -> None:
    job = await create(stub)
    settings = coordinator.jobs.settings
    assert (job.max_attempts, job.timeout_seconds) == (
        settings.max_attempts,
        settings.timeout_for("geocoding"),
    )


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_attempts": -1}, "maxAttempts must be an integer between 1 and 25"),
        ({"max_attempts": 26}, "maxAttempts must be an integer between 1 and 25"),
        ({"timeout_seconds": -5}, "timeoutSeconds must be an integer between 1 and 2592000"),
        ({"timeout_seconds": 2_592_001}, "timeoutSeconds must be an integer between 1 and 2592000"),
    ],
)
async def test_limits_out_of_range_are_refused_naming_them(
    stub: pb_grpc.CoordinatorServiceStub, limits: dict[str, int], message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(stub, **limits)
    assert (refused.value.code(), refused.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, message)


async def test_a_job_created_with_a_short_timeout_fails_after_it(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, '{"items":1000,"batch":1,"delay":0.05}', timeout_seconds=1)
    failed = await wait_for_status(stub, job.id, pb.JOB_STATUS_FAILED)
    assert failed.failure_reason == "Timed out after 1s"


async def test_a_retry_keeps_the_limits_of_the_job_it_retries(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub, max_attempts=9, timeout_seconds=600)
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=source.id))).job
    assert (retry.max_attempts, retry.timeout_seconds) == (9, 600)


async def test_a_retry_may_set_limits_of_its_own(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub, max_attempts=9, timeout_seconds=600)
    request = pb.RetryJobRequest(id=source.id, max_attempts=2, timeout_seconds=7200)
    retry = (await stub.RetryJob(request)).job
    assert (retry.max_attempts, retry.timeout_seconds) == (2, 7200)


async def test_a_retry_with_limits_out_of_range_is_refused(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.RetryJob(pb.RetryJobRequest(id=source.id, max_attempts=30))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_retry_takes_over_limits_beyond_the_api_s_bounds_that_the_settings_gave(
    stub: pb_grpc.CoordinatorServiceStub, coordinator: CoordinatorApp
) -> None:
    coordinator.jobs.settings = coordinator.jobs.settings.with_overrides(
        max_attempts=40, default_timeout_s=0.5
    )
    source = await cancelled(stub)
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=source.id))).job
    assert (retry.max_attempts, retry.timeout_seconds) == (40, 0.5)
