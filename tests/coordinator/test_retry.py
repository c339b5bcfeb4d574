"""RetryJob: a failed or cancelled job runs again as a new job, through the real coordinator."""

from __future__ import annotations

import asyncio
import json

import grpc
import psycopg
import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_release, wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc

S = pb


async def create(stub: pb_grpc.CoordinatorServiceStub, job_type: str = "geocoding", **data: object) -> pb.Job:
    request = pb.CreateJobRequest(type=job_type, data_json=json.dumps(data), created_by_id="u1", priority=3)
    return (await stub.CreateJob(request)).job


async def cancelled(
    stub: pb_grpc.CoordinatorServiceStub, job_type: str = "geocoding", **data: object
) -> pb.Job:
    """A job cancelled while pending (no worker runs it)."""
    job = await create(stub, job_type, **data)
    return (await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))).job


async def retry(stub: pb_grpc.CoordinatorServiceStub, job_id: str, user: str = "u2") -> pb.CreateJobResponse:
    return await stub.RetryJob(pb.RetryJobRequest(id=job_id, created_by_id=user))


async def test_retry_of_a_cancelled_job_is_a_new_pending_job_with_its_type_input_and_priority(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    source = await cancelled(stub, "geocode_households", items=3)
    response = await retry(stub, source.id)
    assert response.created
    job = response.job
    assert job.id != source.id
    assert job.status == S.JOB_STATUS_PENDING
    assert (job.type, job.priority) == ("geocode_households", 3)
    assert json.loads(job.data_json) == {"items": 3}
    assert job.retry_of == source.id
    assert job.created_by_id == "u2"
    assert (job.processed_items, job.failed_items, job.attempt, job.checkpoint_json) == (0, 0, 0, "")


async def test_retried_job_is_left_as_it_was(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub)
    await retry(stub, source.id)
    after = await stub.GetJob(pb.GetJobRequest(id=source.id))
    assert after.status == S.JOB_STATUS_CANCELLED
    assert after.retry_of == ""
    assert after.updated_at == source.updated_at


async def test_retry_of_a_failed_job_runs_to_completion(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    source = await create(stub, items=20, batch=1, delay=0.02)
    await fail_without_workers(stub, source.id, start_worker)
    response = await retry(stub, source.id)
    await start_worker()
    done = await wait_for_status(stub, response.job.id, S.JOB_STATUS_COMPLETED)
    assert done.processed_items == 20
    assert done.retry_of == source.id


async def fail_without_workers(
    stub: pb_grpc.CoordinatorServiceStub, job_id: str, start_worker: WorkerFactory
) -> None:
    """Drive the job to failed the way production does: every attempt's worker dies."""
    for attempt in range(3):
        worker = await start_worker(worker_id=f"doomed-{job_id}-{attempt}")
        await wait_for_status(stub, job_id, S.JOB_STATUS_PROCESSING)
        worker._stopping = True
        await worker._abandon_jobs()
        worker._outbox.put_nowait(None)
        await wait_for_status(stub, job_id, S.JOB_STATUS_PENDING, S.JOB_STATUS_FAILED)
    await wait_for_status(stub, job_id, S.JOB_STATUS_FAILED)


async def test_asking_again_answers_the_first_retry(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub)
    first = await retry(stub, source.id)
    second = await retry(stub, source.id, user="u3")
    assert not second.created
    assert second.job.id == first.job.id
    assert (await stub.ListJobs(pb.ListJobsRequest())).total == 2


async def test_concurrent_retries_of_one_job_make_one_job(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub)
    responses = await asyncio.gather(*(retry(stub, source.id) for _ in range(8)))
    assert len({r.job.id for r in responses}) == 1
    assert sum(r.created for r in responses) == 1


async def test_a_retry_can_itself_be_retried(stub: pb_grpc.CoordinatorServiceStub) -> None:
    source = await cancelled(stub)
    first = (await retry(stub, source.id)).job
    await stub.ControlJob(pb.ControlJobRequest(id=first.id, action=pb.CONTROL_ACTION_CANCEL))
    second = (await retry(stub, first.id)).job
    assert second.retry_of == first.id
    assert second.id not in (source.id, first.id)


@pytest.mark.parametrize("action", [None, pb.CONTROL_ACTION_PAUSE])
async def test_a_job_that_has_not_finished_cannot_be_retried(
    stub: pb_grpc.CoordinatorServiceStub, action: int | None
) -> None:
    job = await create(stub)
    if action is not None:
        job = (await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=action))).job
    status = "paused" if action else "pending"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await retry(stub, job.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details() == f"Cannot retry job with status: {status}"


async def test_a_completed_job_cannot_be_retried(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, items=1)
    await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await retry(stub, job.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.details() == "Cannot retry job with status: completed"
    assert (await stub.ListJobs(pb.ListJobsRequest())).total == 1


async def test_retry_of_an_unknown_job_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await retry(stub, "nope")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "Job not found"


async def test_retry_of_an_import_reads_the_same_upload_and_names_the_new_job_its_reader(
    stub: pb_grpc.CoordinatorServiceStub, voter_upload: str, database_url: str
) -> None:
    source = await cancelled(stub, "voter_import", uploadId=voter_upload, importType="full")
    job = (await retry(stub, source.id)).job
    assert json.loads(job.data_json) == {"uploadId": voter_upload, "importType": "full"}
    with psycopg.connect(database_url) as conn:
        reader = conn.execute("SELECT job_id FROM uploads WHERE id = %s", (voter_upload,)).fetchone()
    assert reader == (job.id,)


async def test_retry_of_an_import_whose_file_was_removed_is_refused_with_the_reason(
    stub: pb_grpc.CoordinatorServiceStub, voter_upload: str, database_url: str
) -> None:
    source = await cancelled(stub, "voter_import", uploadId=voter_upload)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE uploads SET deleted_at = now() WHERE id = %s", (voter_upload,))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await retry(stub, source.id)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "removed after its retention period" in info.value.details()
    assert (await stub.ListJobs(pb.ListJobsRequest())).total == 1


async def cancelled_midway(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, **data: object
) -> pb.Job:
    """A job cancelled after some of its batches were checkpointed, once its worker has stopped
    (the batch it was writing is then counted too)."""
    await start_worker()
    job = await create(stub, **data)
    for _ in range(400):  # 400 × 0.025 s
        if (await stub.GetJob(pb.GetJobRequest(id=job.id))).processed_items >= 4:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError(f"job {job.id} saved no checkpoint within 10 s")
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    await wait_for_status(stub, job.id, S.JOB_STATUS_CANCELLED)
    return await wait_for_release(stub, job.id)


async def test_a_retry_from_the_checkpoint_carries_on_where_the_job_stopped(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    source = await cancelled_midway(stub, start_worker, items=30, batch=1, delay=0.05)
    stopped_at = json.loads(source.checkpoint_json)["next"]
    retry = await stub.RetryJob(pb.RetryJobRequest(id=source.id, from_checkpoint=True))
    assert (retry.job.processed_items, retry.job.total_items) == (source.processed_items, 30)
    done = await wait_for_status(stub, retry.job.id, S.JOB_STATUS_COMPLETED)
    assert done.processed_items == 30
    assert json.loads(done.output_stats_json)["runs"] == [0, stopped_at]


async def test_a_retry_from_the_checkpoint_takes_over_the_item_errors(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    source = await cancelled_midway(stub, start_worker, items=30, batch=1, delay=0.05, fail_every=2)
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=source.id, from_checkpoint=True))).job
    done = await wait_for_status(stub, retry.id, S.JOB_STATUS_COMPLETED)
    ledger = await stub.ListItemErrors(pb.ListItemErrorsRequest(job_id=retry.id, limit=100))
    assert (done.failed_items, ledger.total) == (15, 15)
    assert [e.item_ref for e in ledger.errors] == [f"item-{i}" for i in range(1, 30, 2)]


async def test_a_job_without_a_checkpoint_cannot_be_retried_from_one(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    source = await cancelled(stub)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.RetryJob(pb.RetryJobRequest(id=source.id, from_checkpoint=True))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == (
        f"Job {source.id} stopped before its first checkpoint: retry it from the start"
    )


async def test_a_resumed_retry_s_history_says_how_far_its_source_got(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    source = await cancelled_midway(stub, start_worker, items=30, batch=1, delay=0.05)
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=source.id, from_checkpoint=True))).job
    created = (await stub.GetJobHistory(pb.JobHistoryRequest(id=retry.id))).events[0]
    done = source.processed_items + source.failed_items
    assert created.detail == f"retry of {source.id} from its checkpoint ({done} of 30 items done); priority 3"


async def test_a_bulk_retry_from_checkpoints_resumes_each_job_that_has_one(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    never_ran = await cancelled(stub)  # first, while no worker is connected to run it
    resumable = await cancelled_midway(stub, start_worker, items=30, batch=1, delay=0.05)
    bulk = pb.BulkControlRequest(
        action=pb.BULK_ACTION_RETRY, ids=[resumable.id, never_ran.id], from_checkpoint=True
    )
    results = {r.id: r for r in (await stub.BulkControlJobs(bulk)).results}
    assert results[resumable.id].ok
    assert results[resumable.id].job.processed_items == resumable.processed_items
    assert not results[never_ran.id].ok
    assert "stopped before its first checkpoint" in results[never_ran.id].error


async def test_from_checkpoint_is_refused_for_a_bulk_action_other_than_retry(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    source = await cancelled(stub)
    bulk = pb.BulkControlRequest(action=pb.BULK_ACTION_CANCEL, ids=[source.id], from_checkpoint=True)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.BulkControlJobs(bulk)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
