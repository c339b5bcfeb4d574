"""Progress writes racing with a job's end (its Finished, a cancel), through the real coordinator and a
real worker stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import WorkerFactory
from coordinator_helpers import wait_for_release, wait_for_status

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.worker import ItemError, JobContext
from cocoa_coordinator.repository import JobRepository
from cocoa_coordinator.server import CoordinatorApp

WAIT_S = 5.0
FINAL_WRITE_S = 0.3


async def test_item_errors_flushed_while_the_job_finishes_are_kept(
    stub: pb_grpc.CoordinatorServiceStub,
    coordinator: CoordinatorApp,
    start_worker: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The periodic flush takes the last batch's report (with its item error) and is still writing
    it when the worker's Finished arrives; the error must be stored all the same."""
    flush_started, finish_arrived = asyncio.Event(), asyncio.Event()
    record_progress = JobRepository.record_progress

    async def slow_first_write(self: JobRepository, *args: Any, **kwargs: Any) -> bool:
        if not flush_started.is_set():  # the flush's write: hold it until Finished is being handled,
            flush_started.set()  # and a little longer: time enough for a final write that did not
            await asyncio.wait_for(finish_arrived.wait(), WAIT_S)  # wait for it to commit first
            await asyncio.sleep(FINAL_WRITE_S)
        return await record_progress(self, *args, **kwargs)

    finish = coordinator.dispatcher._finish

    async def finishing(*args: Any) -> None:
        finish_arrived.set()
        await finish(*args)

    monkeypatch.setattr(JobRepository, "record_progress", slow_first_write)
    monkeypatch.setattr(coordinator.dispatcher, "_finish", finishing)

    async def one_bad_item_then_done(ctx: JobContext) -> None:
        error = ItemError("item-1", "bad_item", "item 1 is bad", {"row": 1})
        await ctx.report(processed=0, failed=1, checkpoint={"next": 1}, errors=[error])
        await asyncio.wait_for(flush_started.wait(), WAIT_S)  # then finish, mid-flush

    await start_worker({"geocoding": one_bad_item_then_done})
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json="{}"))).job
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED)
    ledger = await stub.ListItemErrors(pb.ListItemErrorsRequest(job_id=job.id, limit=10))
    assert done.failed_items == 1
    assert [(e.item_ref, e.message) for e in ledger.errors] == [("item-1", "item 1 is bad")]


async def watch(stub: pb_grpc.CoordinatorServiceStub, job_id: str) -> list[pb.JobEvent]:
    """Every event of the job's WatchJob stream, until the stream ends."""
    return [event async for event in stub.WatchJob(pb.WatchJobRequest(id=job_id))]


async def test_a_job_cancelled_mid_batch_keeps_that_batch_s_counts_and_item_errors(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    """The worker had written a batch when the cancel came: the batch is counted and its failed
    item logged on the cancelled job, and the slot is free once the worker has stopped."""
    writing = asyncio.Event()
    told_to_stop: list[JobContext] = []

    async def cancelled_mid_batch(ctx: JobContext) -> None:
        await ctx.report(processed=1, failed=0, checkpoint={"next": 1})
        writing.set()
        for _ in range(int(WAIT_S / 0.01)):  # the batch's writes, until the stop arrives
            if ctx.stop_requested:
                break
            await asyncio.sleep(0.01)
        told_to_stop.append(ctx)
        error = ItemError("item-2", "bad_item", "item 2 is bad", {"row": 2})
        await ctx.report(processed=2, failed=1, checkpoint={"next": 3}, errors=[error])

    await start_worker({"geocoding": cancelled_mid_batch}, capacity=1)
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json="{}"))).job
    await asyncio.wait_for(writing.wait(), WAIT_S)
    watched = asyncio.create_task(watch(stub, job.id))
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    stopped = await wait_for_release(stub, job.id)
    last = (await asyncio.wait_for(watched, WAIT_S))[-1]  # a watcher follows it to the end
    assert (last.kind, last.job.processed_items, last.job.failed_items) == ("stopped", 2, 1)
    ledger = await stub.ListItemErrors(pb.ListItemErrorsRequest(job_id=job.id, limit=10))
    assert told_to_stop[0].stop_requested
    assert (stopped.status, stopped.processed_items, stopped.failed_items) == (pb.JOB_STATUS_CANCELLED, 2, 1)
    assert [e.item_ref for e in ledger.errors] == ["item-2"]
    history = await stub.GetJobHistory(pb.JobHistoryRequest(id=job.id))
    assert [e.kind for e in history.events][-2:] == ["cancelled", "stopped"]  # cancelled once
    after = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json="{}"))).job
    await wait_for_status(stub, after.id, pb.JOB_STATUS_PROCESSING, pb.JOB_STATUS_COMPLETED)
