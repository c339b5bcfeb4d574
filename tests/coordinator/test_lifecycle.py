"""The job lifecycle through the real coordinator gRPC server, PostgreSQL and real worker streams."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status, wait_for_workers

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import grpc_server
from cocoa_common.settings import Settings
from cocoa_common.worker import JobContext, WorkerRuntime
from cocoa_coordinator.server import CoordinatorApp, start_coordinator

S = pb  # status constants read better as S.JOB_STATUS_...


async def create(stub: pb_grpc.CoordinatorServiceStub, job_type: str = "geocoding", **data: object) -> pb.Job:
    response = await stub.CreateJob(pb.CreateJobRequest(type=job_type, data_json=json.dumps(data)))
    return response.job


async def test_created_job_is_pending_with_its_input(stub: pb_grpc.CoordinatorServiceStub) -> None:
    job = await create(stub, "geocode_households", items=3)
    assert job.status == S.JOB_STATUS_PENDING
    assert job.type == "geocode_households"
    assert json.loads(job.data_json) == {"items": 3}
    assert len(job.id) == 25
    assert job.HasField("created_at")
    assert not job.HasField("started_at")


async def test_unknown_type_is_rejected_listing_known_types(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateJob(pb.CreateJobRequest(type="mine_bitcoin", data_json="{}"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "geocoding" in info.value.details()
    assert "voter_import" in info.value.details()


async def test_data_that_is_not_a_json_object_is_rejected(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json="[1,2"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_import_job_without_an_upload_id_is_rejected(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, "voter_import", path="/etc/passwd")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "data.uploadId is required" in info.value.details()
    assert "POST /api/v1/voters/import" in info.value.details()


async def test_import_job_naming_an_unknown_upload_is_rejected(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, "parcel_import", uploadId="../../etc/passwd")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "names no file uploaded for a parcel_import job" in info.value.details()


async def test_import_job_naming_another_kind_of_upload_is_rejected(
    stub: pb_grpc.CoordinatorServiceStub, parcel_upload: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(stub, "import_voters", uploadId=parcel_upload)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "names no file uploaded for a voter_import job" in info.value.details()


async def test_import_job_naming_its_upload_is_created(
    stub: pb_grpc.CoordinatorServiceStub, voter_upload: str
) -> None:
    job = await create(stub, "import_voters", uploadId=voter_upload, importType="full")
    assert job.status == S.JOB_STATUS_PENDING
    assert json.loads(job.data_json)["uploadId"] == voter_upload


async def test_same_idempotency_key_returns_the_first_job(stub: pb_grpc.CoordinatorServiceStub) -> None:
    request = pb.CreateJobRequest(type="geocoding", data_json="{}", created_by_id="u1", idempotency_key="k-1")
    first = await stub.CreateJob(request)
    second = await stub.CreateJob(request)
    assert first.created
    assert not second.created
    assert first.job.id == second.job.id
    listed = await stub.ListJobs(pb.ListJobsRequest())
    assert listed.total == 1


async def test_job_runs_to_completion_with_exact_counts(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, items=20, batch=3, fail_every=5)
    done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    assert (done.processed_items, done.failed_items, done.total_items) == (16, 4, 20)
    assert done.HasField("started_at")
    assert done.HasField("completed_at")
    assert done.attempt == 1


async def test_item_errors_go_to_the_ledger_and_page_by_cursor(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, items=50, batch=7, fail_every=2)
    await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    seen: list[str] = []
    cursor = 0
    for _ in range(10):
        page = await stub.ListItemErrors(pb.ListItemErrorsRequest(job_id=job.id, limit=10, after_seq=cursor))
        seen.extend(e.item_ref for e in page.errors)
        assert page.total == 25
        cursor = page.next_after_seq
        if not cursor:
            break
    assert seen == [f"item-{i}" for i in range(1, 50, 2)]
    detailed = await stub.GetJob(pb.GetJobRequest(id=job.id, include_errors=True))
    assert detailed.recent_errors[0].item_ref == "item-49"  # newest first


async def test_one_job_of_a_type_runs_at_a_time_and_other_types_run_beside_it(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, voter_upload: str
) -> None:
    await start_worker(capacity=4)
    first = await create(stub, items=6, batch=1, delay=0.1)
    second = await create(stub, items=1)
    other_type = await create(stub, "import_voters", items=1, uploadId=voter_upload)
    await wait_for_status(stub, other_type.id, S.JOB_STATUS_COMPLETED)
    assert (await stub.GetJob(pb.GetJobRequest(id=second.id))).status == S.JOB_STATUS_PENDING
    assert (await stub.GetJob(pb.GetJobRequest(id=first.id))).status == S.JOB_STATUS_PROCESSING
    await wait_for_status(stub, second.id, S.JOB_STATUS_COMPLETED)


async def test_pending_jobs_start_in_priority_then_age_order(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    low = await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json='{"items":1}'))
    high = await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json='{"items":1}', priority=5))
    later_low = await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json='{"items":1}'))
    await start_worker()
    jobs = [await wait_for_status(stub, j.job.id, S.JOB_STATUS_COMPLETED) for j in (high, low, later_low)]
    starts = [j.started_at.ToNanoseconds() for j in jobs]
    assert starts == sorted(starts)


async def test_pause_stops_at_a_batch_boundary_and_resume_continues_from_the_checkpoint(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, items=40, batch=2, delay=0.05)
    await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
    await asyncio.sleep(0.3)
    paused = await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_PAUSE))
    assert paused.job.status == S.JOB_STATUS_PAUSED
    await asyncio.sleep(0.5)
    held = await stub.GetJob(pb.GetJobRequest(id=job.id))
    assert held.status == S.JOB_STATUS_PAUSED
    stopped_at = json.loads(held.checkpoint_json)["next"]
    assert 0 < stopped_at < 40
    await asyncio.sleep(0.3)
    assert (await stub.GetJob(pb.GetJobRequest(id=job.id))).processed_items == held.processed_items
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_RESUME))
    done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    assert done.processed_items == 40
    assert json.loads(done.output_stats_json)["runs"] == [0, stopped_at]


async def test_cancel_of_a_running_job_is_final_and_stops_the_worker(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    worker = await start_worker()
    job = await create(stub, items=100, batch=1, delay=0.05)
    await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
    await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
    for _ in range(50):
        if not worker.running:
            break
        await asyncio.sleep(0.05)
    assert not worker.running
    final = await stub.GetJob(pb.GetJobRequest(id=job.id))
    assert final.status == S.JOB_STATUS_CANCELLED
    assert final.HasField("completed_at")
    assert final.processed_items < 100


async def test_illegal_moves_are_failed_precondition_and_change_nothing(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, items=1)
    done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    for action, verb in ((pb.CONTROL_ACTION_CANCEL, "cancel"), (pb.CONTROL_ACTION_PAUSE, "pause")):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=action))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert info.value.details() == f"Cannot {verb} job with status: completed"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_RESUME))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await stub.GetJob(pb.GetJobRequest(id=job.id)) == done


async def test_unknown_job_is_not_found(stub: pb_grpc.CoordinatorServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetJob(pb.GetJobRequest(id="nope"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "Job not found"


async def test_list_has_a_real_total_filters_and_accepts_aliases(
    stub: pb_grpc.CoordinatorServiceStub, voter_upload: str
) -> None:
    for _ in range(3):
        await create(stub, "geocoding")
    await create(stub, "geocode_households")
    await create(stub, "voter_import", uploadId=voter_upload)
    page = await stub.ListJobs(pb.ListJobsRequest(types=["geocode_households"], limit=2))
    assert page.total == 4
    assert len(page.jobs) == 2
    assert page.jobs[0].created_at.ToNanoseconds() >= page.jobs[1].created_at.ToNanoseconds()
    pending = await stub.ListJobs(
        pb.ListJobsRequest(statuses=[S.JOB_STATUS_PENDING], types=["import_voters"])
    )
    assert pending.total == 1


async def test_a_killed_worker_s_job_moves_to_another_replica_and_resumes_from_its_checkpoint(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    first = await start_worker(worker_id="replica-a")
    job = await create(stub, items=30, batch=2, delay=0.05)
    await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
    await asyncio.sleep(0.6)  # a few checkpoints reach the database
    second = await start_worker(worker_id="replica-b")
    first._stopping = True
    for _, task in list(first.running.values()):
        task.cancel()
    await first._abandon_jobs()
    first._outbox.put_nowait(None)  # the process is gone: its stream closes
    done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED)
    assert done.processed_items == 30
    assert done.attempt == 2
    assert done.worker_id == second.worker_id
    runs = json.loads(done.output_stats_json)["runs"]
    assert runs[0] == 0
    assert runs[1] > 0
    (stats,) = [t for t in (await stub.GetStats(pb.StatsRequest())).types if t.type == "geocoding"]
    assert dict(stats.requeues) == {"worker_lost": 1}


class HungWorker(WorkerRuntime):
    """A worker process whose stream stays open but which says nothing and notices nothing, as one
    whose event loop is blocked."""

    async def _heartbeat(self) -> None:
        await asyncio.Event().wait()

    async def _watch_silence(self) -> None:
        await asyncio.Event().wait()


async def test_a_silent_worker_loses_its_lease_and_the_job_is_requeued(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    hung = asyncio.Event()

    async def hangs(ctx: JobContext) -> None:
        await hung.wait()

    address = f"127.0.0.1:{coordinator.port}"
    await start_worker(runtime=HungWorker(address, "test", {"geocoding": hangs}, worker_id="silent"))
    try:
        job = await create(stub, items=4)
        await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
        await start_worker({"geocoding": counting_handler}, worker_id="healthy")
        # The silent worker answers the stop it is sent when its lease is taken back, which makes it
        # look alive again: the healthy one must be known to the coordinator by then to be preferred.
        await wait_for_workers(stub, "geocoding", 2)
        done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED, timeout=15)
        assert done.worker_id == "healthy"
        assert done.attempt == 2
        assert "no heartbeat" in done.failure_reason
        (stats,) = [t for t in (await stub.GetStats(pb.StatsRequest())).types if t.type == "geocoding"]
        assert dict(stats.requeues) == {"no_heartbeat": 1}
    finally:
        hung.set()


async def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    job = await create(stub, items=1000, batch=1, delay=0.05)
    for attempt in range(coordinator.dispatcher.settings.max_attempts):
        worker = await start_worker(worker_id=f"doomed-{attempt}")
        await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
        worker._stopping = True
        await worker._abandon_jobs()
        worker._outbox.put_nowait(None)
        await wait_for_status(stub, job.id, S.JOB_STATUS_PENDING, S.JOB_STATUS_FAILED)
    failed = await wait_for_status(stub, job.id, S.JOB_STATUS_FAILED)
    assert failed.failure_reason.startswith("Gave up after 3 attempts")


async def test_a_job_past_its_timeout_fails(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    coordinator.jobs.settings = coordinator.jobs.settings.with_overrides(default_timeout_s=0.5)
    worker = await start_worker()
    job = await create(stub, items=1000, batch=1, delay=0.05)
    failed = await wait_for_status(stub, job.id, S.JOB_STATUS_FAILED)
    assert failed.failure_reason == "Timed out after 0.5s"
    for _ in range(40):
        if not worker.running:
            break
        await asyncio.sleep(0.05)
    assert not worker.running


async def test_watch_streams_events_until_terminal_and_replays_after_a_sequence(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create(stub, items=10, batch=2, delay=0.05)
    events = [e async for e in stub.WatchJob(pb.WatchJobRequest(id=job.id))]
    kinds = [e.kind for e in events]
    assert kinds[0] == "created"
    assert "started" in kinds
    assert kinds[-1] == "completed"
    assert events[-1].job.status == S.JOB_STATUS_COMPLETED
    replay = [e async for e in stub.WatchJob(pb.WatchJobRequest(id=job.id, after_seq=events[1].seq))]
    assert [e.seq for e in replay] == [e.seq for e in events[2:]]


async def test_a_restarted_coordinator_requeues_running_jobs_and_they_finish_once(
    settings: Settings, start_worker: WorkerFactory, coordinator: CoordinatorApp
) -> None:
    port = coordinator.port
    async with grpc_server.channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.CoordinatorServiceStub(channel)
        worker = await start_worker()
        job = await create(stub, items=40, batch=2, delay=0.05)
        await wait_for_status(stub, job.id, S.JOB_STATUS_PROCESSING)
        await asyncio.sleep(0.5)
    await coordinator.stop(grace=0)  # the process dies: every stream ends
    restarted = await start_coordinator(settings, f"127.0.0.1:{port}")
    try:
        async with grpc_server.channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.CoordinatorServiceStub(channel)
            await asyncio.wait_for(worker.connected.wait(), 10)  # the worker reconnects by itself
            done = await wait_for_status(stub, job.id, S.JOB_STATUS_COMPLETED, timeout=20)
    finally:
        await restarted.stop(grace=0.5)
    assert done.processed_items == 40
    runs = json.loads(done.output_stats_json)["runs"]
    assert runs[0] == 0
    assert runs[1] > 0  # resumed from its checkpoint, not from the start


async def test_the_coordinator_stops_promptly_when_woken_just_as_it_stops(settings: Settings) -> None:
    # The wake-up and the stop race: each turn lets the wake-up get one loop step further.
    loop = asyncio.get_running_loop()
    for turns in range(6):
        app = await start_coordinator(settings, "127.0.0.1:0")
        await asyncio.sleep(0.05)  # the dispatch loop is waiting to be woken
        app.dispatcher.wake()
        for _ in range(turns):
            await asyncio.sleep(0)
        started = loop.time()
        try:
            async with asyncio.timeout(5):
                await app.dispatcher.stop()
        finally:
            await app.stop(grace=0.1)
        assert loop.time() - started < 1.0, f"stop took {loop.time() - started:.1f}s after {turns} turns"


async def test_watch_delivers_a_terminal_event_committed_right_after_an_empty_read(
    stub: pb_grpc.CoordinatorServiceStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cocoa_coordinator.repository import JobRepository

    job = await create(stub)
    original = JobRepository.events_after
    reads = 0

    async def events_then_cancel(self: JobRepository, job_id: str, after_seq: int, limit: int = 500) -> list:
        nonlocal reads
        found = await original(self, job_id, after_seq, limit)
        reads += 1
        if reads == 2:  # nothing new yet; the job is cancelled before the watcher looks again
            await stub.ControlJob(pb.ControlJobRequest(id=job.id, action=pb.CONTROL_ACTION_CANCEL))
        return found

    monkeypatch.setattr(JobRepository, "events_after", events_then_cancel)
    events = [e async for e in stub.WatchJob(pb.WatchJobRequest(id=job.id), timeout=10)]
    assert [e.kind for e in events] == ["created", "cancelled"]
    assert events[-1].job.status == S.JOB_STATUS_CANCELLED


async def test_stats_count_live_jobs_per_type_with_aliases_folded_in(
    stub: pb_grpc.CoordinatorServiceStub, voter_upload: str
) -> None:
    await create(stub, "geocode_households", items=3)
    await create(stub, "geocoding", items=3)
    await create(stub, "import_voters", items=3, uploadId=voter_upload)
    stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    assert set(stats) == {"geocoding", "voter_import", "parcel_import"}
    assert stats["geocoding"].jobs_by_status["pending"] == 2
    assert stats["voter_import"].jobs_by_status["pending"] == 1
    assert stats["parcel_import"].jobs_by_status["pending"] == 0
    assert stats["geocoding"].oldest_pending_age_seconds >= 0
    assert (stats["geocoding"].workers, stats["geocoding"].worker_slots) == (0, 0)


async def test_stats_count_connected_workers_and_their_slots(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    await start_worker(capacity=2)
    await start_worker({"geocoding": counting_handler}, capacity=3)
    stats = {t.type: t for t in (await stub.GetStats(pb.StatsRequest())).types}
    assert (stats["geocoding"].workers, stats["geocoding"].worker_slots) == (2, 5)
    assert (stats["voter_import"].workers, stats["voter_import"].worker_slots) == (1, 2)
    assert stats["parcel_import"].workers == 0


async def test_a_value_the_database_refuses_is_invalid_argument_not_internal(
    stub: pb_grpc.CoordinatorServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListJobs(pb.ListJobsRequest(created_by_id="a\x00b"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "NUL" in info.value.details()
