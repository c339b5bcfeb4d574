"""A real coordinator and geocoder for geocoder service tests, plus job and household helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from sqlalchemy import select

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as cpb_grpc
from cocoa.geocoder.v1 import geocoder_pb2 as gpb
from cocoa.geocoder.v1 import geocoder_pb2_grpc as gpb_grpc
from cocoa_common import db, grpc_server
from cocoa_common.models import Household
from cocoa_common.settings import Settings
from cocoa_coordinator.server import CoordinatorApp, start_coordinator
from cocoa_geocoder.server import GeocoderApp, start_geocoder


class Services:
    def __init__(self, coordinator: CoordinatorApp, geocoder: GeocoderApp, settings: Settings) -> None:
        self.coordinator = coordinator
        self.geocoder = geocoder
        self.settings = settings
        self.jobs: cpb_grpc.CoordinatorServiceStub
        self.geo: gpb_grpc.GeocoderServiceStub


async def import_points(geo: gpb_grpc.GeocoderServiceStub, csv: bytes) -> gpb.ImportAddressPointsResponse:
    async def chunks() -> AsyncIterator[gpb.AddressPointsChunk]:
        for start in range(0, len(csv), 64):  # small chunks: lines cross chunk boundaries
            yield gpb.AddressPointsChunk(source="test.csv", data=csv[start : start + 64])

    return await geo.ImportAddressPoints(chunks())


async def run_job(s: Services, data: dict, timeout: float = 20.0) -> cpb.Job:
    job = (
        await s.jobs.CreateJob(cpb.CreateJobRequest(type="geocode_households", data_json=json.dumps(data)))
    ).job
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        job = await s.jobs.GetJob(cpb.GetJobRequest(id=job.id, include_errors=True))
        if job.status in (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED, cpb.JOB_STATUS_CANCELLED):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job stuck in {cpb.JobStatus.Name(job.status)}")


async def households(database_url: str) -> dict[str, Household]:
    engine = db.create_engine(database_url)
    try:
        async with db.session_factory(engine)() as session:
            rows = (await session.execute(select(Household))).scalars().all()
            return {h.full_address: h for h in rows}
    finally:
        await engine.dispose()


async def start_services(settings: Settings, **overrides: object) -> AsyncIterator[Services]:
    """A coordinator and a connected geocoder on free loopback ports, with stubs for both."""
    coordinator = await start_coordinator(settings, "127.0.0.1:0")
    try:
        settings = settings.with_overrides(coordinator_grpc_addr=f"127.0.0.1:{coordinator.port}", **overrides)
        s = Services(coordinator, await start_geocoder(settings, "127.0.0.1:0"), settings)
        try:
            await asyncio.wait_for(s.geocoder.worker.connected.wait(), 5)
            async with (
                grpc_server.channel(f"127.0.0.1:{coordinator.port}") as c1,
                grpc_server.channel(f"127.0.0.1:{s.geocoder.port}") as c2,
            ):
                s.jobs = cpb_grpc.CoordinatorServiceStub(c1)
                s.geo = gpb_grpc.GeocoderServiceStub(c2)
                yield s
        finally:
            await s.geocoder.stop(grace=0.5)  # a test may have replaced the geocoder it started with
    finally:
        await coordinator.stop(grace=0.5)
