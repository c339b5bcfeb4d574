"""Job groups: jobs of different groups take turns at a queue's slots, through the real coordinator."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from conftest import WorkerFactory

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import grpc_server
from cocoa_common.settings import Settings
from cocoa_coordinator.server import CoordinatorApp, start_coordinator

SLOW = {"items": 40, "batch": 1, "delay": 0.05}  # holds its slot for about 2 s


async def create(stub: pb_grpc.CoordinatorServiceStub, group: str = "", priority: int = 0) -> pb.Job:
    request = pb.CreateJobRequest(
        type="geocoding", data_json=json.dumps(SLOW), group=group, priority=priority
    )
    return (await stub.CreateJob(request)).job


async def allow(stub: pb_grpc.CoordinatorServiceStub, concurrency: int) -> None:
    await stub.SetQueueConcurrency(pb.SetQueueConcurrencyRequest(type="geocoding", concurrency=concurrency))


async def started(stub: pb_grpc.CoordinatorServiceStub, jobs: list[pb.Job], count: int) -> set[str]:
    """The ids of the jobs that left pending, once ``count`` of them have (at most 5 s)."""
    for _ in range(250):  # 250 × 0.02 s
        left = {
            j.id
            for j in jobs
            if (await stub.GetJob(pb.GetJobRequest(id=j.id))).status != pb.JOB_STATUS_PENDING
        }
        if len(left) >= count:
            return left
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} jobs started")


async def test_a_job_shows_its_group_and_a_retry_keeps_it(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub, group="  campaign-7 ")
    assert job.group == "campaign-7"
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    retry = (await stub.RetryJob(pb.RetryJobRequest(id=job.id))).job
    assert retry.group == "campaign-7"


@pytest.mark.parametrize("group", ["x" * 101, "tab\there", "nul\x00"])
async def test_a_group_too_long_or_with_a_control_character_is_refused(
    stub: pb_grpc.CoordinatorServiceStub, group: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(stub, group=group)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "group must be at most 100 printable characters"


async def test_another_group_s_job_starts_before_the_first_group_s_next_one(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await allow(stub, 2)
    first_group = [await create(stub, group="durham") for _ in range(3)]
    other = await create(stub, group="wake")
    await start_worker(capacity=4)
    assert await started(stub, [*first_group, other], 2) == {first_group[0].id, other.id}


async def test_jobs_without_a_group_take_turns_as_one_group(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await allow(stub, 2)
    ungrouped = [await create(stub) for _ in range(2)]
    grouped = await create(stub, group="wake")
    await start_worker(capacity=4)
    assert await started(stub, [*ungrouped, grouped], 2) == {ungrouped[0].id, grouped.id}


async def test_priority_still_comes_before_taking_turns(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await allow(stub, 2)
    urgent = [await create(stub, group="durham", priority=10) for _ in range(2)]
    other = await create(stub, group="wake")
    await start_worker(capacity=4)
    assert await started(stub, [*urgent, other], 2) == {j.id for j in urgent}


async def test_a_group_at_its_limit_is_passed_over_while_others_start(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    coordinator.dispatcher.settings = coordinator.dispatcher.settings.with_overrides(
        group_concurrency={"geocoding": 1}
    )
    await allow(stub, 3)
    durham = [await create(stub, group="durham") for _ in range(3)]
    ungrouped = [await create(stub) for _ in range(2)]  # no group: no group limit
    await start_worker(capacity=4)
    running = await started(stub, [*durham, *ungrouped], 3)
    await asyncio.sleep(0.3)  # a fourth would have started by now
    assert (
        running == await started(stub, [*durham, *ungrouped], 3) == {durham[0].id, *(j.id for j in ungrouped)}
    )


async def test_the_list_and_a_bulk_action_filter_by_group(stub: pb_grpc.CoordinatorServiceStub) -> None:
    durham, wake = await create(stub, group="durham"), await create(stub, group="wake")
    listed = await stub.ListJobs(pb.ListJobsRequest(group="durham"))
    assert [j.id for j in listed.jobs] == [durham.id]
    bulk = await stub.BulkControlJobs(pb.BulkControlRequest(action=pb.BULK_ACTION_CANCEL, group="wake"))
    assert [r.id for r in bulk.results] == [wake.id]


async def test_search_finds_a_job_by_its_group(stub: pb_grpc.CoordinatorServiceStub) -> None:
    durham = await create(stub, group="Durham County")
    await create(stub, group="wake")
    listed = await stub.ListJobs(pb.ListJobsRequest(search="durham"))
    assert [j.id for j in listed.jobs] == [durham.id]


async def pause_group(stub: pb_grpc.CoordinatorServiceStub, group: str, paused: bool = True) -> pb.GroupStats:
    request = pb.SetGroupPausedRequest(group=group, paused=paused, requested_by_id="ops-1")
    return await stub.SetGroupPaused(request)


async def test_a_paused_group_s_jobs_wait_while_other_groups_run(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await allow(stub, 3)
    await pause_group(stub, "durham")
    durham = await create(stub, group="durham")
    wake, ungrouped = await create(stub, group="wake"), await create(stub)
    await start_worker(capacity=4)
    assert await started(stub, [durham, wake, ungrouped], 2) == {wake.id, ungrouped.id}
    await asyncio.sleep(0.3)  # durham's would have started by now
    assert (await stub.GetJob(pb.GetJobRequest(id=durham.id))).status == pb.JOB_STATUS_PENDING


async def test_resuming_a_group_starts_its_waiting_jobs(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await pause_group(stub, "durham")
    durham = await create(stub, group="durham")
    await start_worker(capacity=2)
    await asyncio.sleep(0.3)
    resumed = await pause_group(stub, "durham", paused=False)
    assert not resumed.HasField("paused_at")
    assert await started(stub, [durham], 1) == {durham.id}


async def test_pausing_a_group_lets_its_running_job_finish(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    job = await create(stub, group="durham")
    await start_worker(capacity=2)
    await started(stub, [job], 1)
    await pause_group(stub, "durham")
    for _ in range(250):  # 250 × 0.02 s
        if (await stub.GetJob(pb.GetJobRequest(id=job.id))).status == pb.JOB_STATUS_COMPLETED:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the running job of a paused group did not finish")


async def test_groups_are_listed_with_their_unfinished_jobs_and_who_paused_them(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    await create(stub, group="wake")
    await create(stub, group="wake")
    first = await pause_group(stub, "durham")
    again = await pause_group(stub, "durham")  # keeps the first pause's time
    assert again.paused_at == first.paused_at
    groups = {g.group: g for g in (await stub.ListGroups(pb.ListGroupsRequest())).groups}
    assert set(groups) == {"durham", "wake"}
    assert (groups["wake"].jobs_by_status["pending"], groups["wake"].HasField("paused_at")) == (2, False)
    assert (groups["durham"].paused_by_id, groups["durham"].jobs_by_status["pending"]) == ("ops-1", 0)


@pytest.mark.parametrize("group", ["", "  ", "x" * 101, "tab\there"])
async def test_pausing_a_group_that_cannot_be_one_is_refused(
    stub: pb_grpc.CoordinatorServiceStub, group: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await pause_group(stub, group)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_group_s_pause_outlives_a_coordinator_restart(
    settings: Settings, coordinator: CoordinatorApp, start_worker: WorkerFactory
) -> None:
    port = coordinator.port
    async with grpc_server.channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.CoordinatorServiceStub(channel)
        await pause_group(stub, "durham")
        job = await create(stub, group="durham")
    await coordinator.stop(grace=0)
    restarted = await start_coordinator(settings, f"127.0.0.1:{port}")
    try:
        async with grpc_server.channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.CoordinatorServiceStub(channel)
            await start_worker(capacity=2)
            await asyncio.sleep(0.5)  # it would have started by now
            assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).status == pb.JOB_STATUS_PENDING
            await pause_group(stub, "durham", paused=False)
            assert await started(stub, [job], 1) == {job.id}
    finally:
        await restarted.stop(grace=0.5)
