"""A worker whose link to the coordinator goes silent: a dead route that neither resets nor
delivers, which gRPC's keepalive took over a minute to notice."""

from __future__ import annotations

import asyncio
import json

from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status
from faultproxy import ProxyStarter

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.worker import JobContext, WorkerRuntime
from cocoa_coordinator.server import CoordinatorApp


async def test_a_worker_cut_off_silently_gives_up_its_job_which_finishes_once_elsewhere(
    stub: pb_grpc.CoordinatorServiceStub,
    coordinator: CoordinatorApp,
    start_worker: WorkerFactory,
    fault_proxy: ProxyStarter,
) -> None:
    link = fault_proxy(f"127.0.0.1:{coordinator.port}")
    gave_up = asyncio.Event()

    async def noticing_cancel(ctx: JobContext) -> None:
        try:
            await counting_handler(ctx)
        except asyncio.CancelledError:
            gave_up.set()
            raise

    cut_off = WorkerRuntime(
        link.address, "test", {"geocoding": noticing_cancel}, capacity=1, worker_id="cut-off"
    )
    await start_worker(runtime=cut_off)
    data = json.dumps({"items": 200, "batch": 2, "delay": 0.05})  # about 5 s of batches
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json=data))).job
    await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING)
    link.blackhole()
    loop = asyncio.get_running_loop()
    cut_at = loop.time()
    await asyncio.wait_for(gave_up.wait(), 10)
    # Within the coordinator's heartbeat timeout (3 s here), give or take a heartbeat.
    assert loop.time() - cut_at < 4.5
    await start_worker({"geocoding": counting_handler}, worker_id="healthy")
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, timeout=20)
    assert (done.worker_id, done.attempt, done.processed_items) == ("healthy", 2, 200)


async def test_a_worker_that_reconnected_into_a_dead_route_is_back_soon_after_the_route_returns(
    coordinator: CoordinatorApp, start_worker: WorkerFactory, fault_proxy: ProxyStarter
) -> None:
    link = fault_proxy(f"127.0.0.1:{coordinator.port}")
    worker = WorkerRuntime(
        link.address, "test", {"geocoding": counting_handler}, worker_id="w", welcome_timeout=1.5
    )
    await start_worker(runtime=worker)
    link.blackhole()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while worker.connected.is_set() and loop.time() < deadline:  # the 2.5 s silence limit
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # its next stream opens into the dead route
    link.heal(reset_silent=False)  # that stream stays silent: only a new one gets through
    healed_at = loop.time()
    await asyncio.wait_for(worker.connected.wait(), 10)
    # Not gRPC's 20 s connect timeout: the Welcome's, plus a reconnect.
    assert loop.time() - healed_at < 4


async def test_a_worker_keeps_its_stream_while_the_coordinator_answers_its_heartbeats(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory
) -> None:
    worker = await start_worker({"geocoding": counting_handler})
    data = json.dumps({"items": 80, "batch": 2, "delay": 0.1})  # 4 s: past the 2.5 s silence limit
    job = (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json=data))).job
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, timeout=20)
    assert (done.attempt, done.processed_items) == (1, 80)
    assert worker.connected.is_set()
