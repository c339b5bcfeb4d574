"""The coordinator across a failing network to PostgreSQL: its connections reset, refused for a
while, or gone silent. It must keep its loops alive and finish every job exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from conftest import WorkerFactory
from coordinator_helpers import counting_handler, wait_for_status
from faultproxy import FaultProxy, ProxyStarter, through

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common.settings import Settings
from cocoa_coordinator.server import CoordinatorApp, start_coordinator


@pytest.fixture
def database_link(fault_proxy: ProxyStarter) -> FaultProxy:
    return fault_proxy("127.0.0.1:5432")


@pytest.fixture
async def coordinator(settings: Settings, database_link: FaultProxy) -> AsyncIterator[CoordinatorApp]:
    faulty = settings.with_overrides(
        database_url=through(settings.database_url, database_link), database_deadline_s=2.0
    )
    app = await start_coordinator(faulty, "127.0.0.1:0")
    yield app
    await app.stop(grace=0.5)


async def _create(stub: pb_grpc.CoordinatorServiceStub, items: int = 40) -> pb.Job:
    data = f'{{"items": {items}, "batch": 2, "delay": 0.05}}'
    return (await stub.CreateJob(pb.CreateJobRequest(type="geocoding", data_json=data))).job


async def _under_way(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, items: int = 40
) -> pb.Job:
    """A job of ``items`` (2 a batch, 40 a second) on a worker, a few batches in."""
    await start_worker({"geocoding": counting_handler})
    job = await _create(stub, items)
    await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING)
    await asyncio.sleep(0.3)
    return job


async def test_a_job_finishes_once_after_the_coordinator_s_database_connections_are_reset(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, database_link: FaultProxy
) -> None:
    job = await _under_way(stub, start_worker)
    database_link.sever()
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, timeout=20)
    assert (done.status, done.processed_items) == (pb.JOB_STATUS_COMPLETED, 40)


@pytest.mark.parametrize("outage_s", [1.5, 4.5])  # shorter and longer than the 3 s heartbeat timeout
async def test_a_job_running_through_a_database_outage_finishes_once_with_its_counts(
    stub: pb_grpc.CoordinatorServiceStub,
    start_worker: WorkerFactory,
    database_link: FaultProxy,
    outage_s: float,
) -> None:
    await start_worker({"geocoding": counting_handler})
    job = await _create(stub, items=80)  # about 2 s of batches: it ends during the longer outage
    await wait_for_status(stub, job.id, pb.JOB_STATUS_PROCESSING)
    database_link.refuse()
    database_link.sever()
    await asyncio.sleep(outage_s)
    database_link.heal()
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, timeout=20)
    assert (done.status, done.processed_items, done.attempt) == (pb.JOB_STATUS_COMPLETED, 80, 1)


async def test_jobs_are_created_and_run_again_once_the_database_is_back(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, database_link: FaultProxy
) -> None:
    await start_worker({"geocoding": counting_handler})
    database_link.refuse()
    database_link.sever()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _create(stub, items=4)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    database_link.heal()
    job = await _create(stub, items=4)
    assert (await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, timeout=10)).processed_items == 4


async def test_a_job_finishes_once_though_the_coordinator_s_database_connections_go_silent(
    stub: pb_grpc.CoordinatorServiceStub, start_worker: WorkerFactory, database_link: FaultProxy
) -> None:
    job = await _under_way(stub, start_worker)
    database_link.blackhole()
    await asyncio.sleep(2)
    database_link.heal()
    done = await wait_for_status(stub, job.id, pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, timeout=30)
    second = await _create(stub, 4)
    assert (await wait_for_status(stub, second.id, pb.JOB_STATUS_COMPLETED, timeout=10)).processed_items == 4
    assert (done.status, done.processed_items, done.attempt) == (pb.JOB_STATUS_COMPLETED, 40, 1)
