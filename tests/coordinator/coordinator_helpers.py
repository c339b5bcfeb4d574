"""Test workloads and polling helpers for coordinator tests."""

from __future__ import annotations

import asyncio

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.worker import ItemError, JobContext


async def counting_handler(ctx: JobContext) -> None:
    """A stand-in workload: ``items`` items in batches, ``fail_every``-th item fails, ``delay`` per batch."""
    items = int(ctx.data.get("items", 10))
    batch = int(ctx.data.get("batch", 2))
    delay = float(ctx.data.get("delay", 0.0))
    fail_every = int(ctx.data.get("fail_every", 0))
    start = int((ctx.checkpoint or {}).get("next", 0))
    processed, failed = ctx.processed, ctx.failed
    ctx.total_items = items
    runs = ctx.stats.get("runs", [])
    runs.append(start)
    for first in range(start, items, batch):
        await asyncio.sleep(delay)
        errors = []
        for item in range(first, min(first + batch, items)):
            if fail_every and (item + 1) % fail_every == 0:
                failed += 1
                errors.append(_item_error(item))
            else:
                processed += 1
        nxt = min(first + batch, items)
        await ctx.report(
            processed=processed,
            failed=failed,
            checkpoint={"next": nxt, "processed": processed, "failed": failed, "stats": {"runs": runs}},
            errors=errors,
            stats={"runs": runs, "lastAttempt": ctx.attempt},
        )


def _item_error(item: int) -> ItemError:
    return ItemError(f"item-{item}", "bad_item", f"item {item} is bad", {"row": item})


async def wait_for_status(
    stub: pb_grpc.CoordinatorServiceStub, job_id: str, *statuses: int, timeout: float = 10.0
) -> pb.Job:
    """Poll until the job reaches one of ``statuses`` (bounded in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job = await stub.GetJob(pb.GetJobRequest(id=job_id))
        if job.status in statuses:
            return job
        if loop.time() > deadline:
            raise AssertionError(f"job {job_id} stuck in {pb.JobStatus.Name(job.status)}")
        await asyncio.sleep(0.05)


async def wait_for_release(
    stub: pb_grpc.CoordinatorServiceStub, job_id: str, timeout: float = 10.0
) -> pb.Job:
    """Poll until no worker holds the job any more (a cancelled job's worker has stopped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job = await stub.GetJob(pb.GetJobRequest(id=job_id))
        if not job.HasField("lease_expires_at"):
            return job
        if loop.time() > deadline:
            raise AssertionError(f"job {job_id} is still held by {job.worker_id}")
        await asyncio.sleep(0.05)


async def wait_for_workers(
    stub: pb_grpc.CoordinatorServiceStub, job_type: str, count: int, timeout: float = 10.0
) -> None:
    """Poll until the coordinator counts ``count`` connected workers for ``job_type``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
        if stats[job_type].workers >= count:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{job_type} has {stats[job_type].workers} workers, not {count}")
        await asyncio.sleep(0.02)
