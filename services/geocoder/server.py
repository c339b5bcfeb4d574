"""Builds the geocoder process: gRPC server for lookups, and a worker connected to the coordinator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import grpc
import redis.asyncio as aioredis

from cocoa.geocoder.v1 import geocoder_pb2_grpc as pb_grpc
from cocoa_common import db, grpc_server
from cocoa_common import jobtypes as jt
from cocoa_common.process import cancel_and_wait
from cocoa_common.settings import Settings
from cocoa_common.worker import WorkerRuntime
from cocoa_geocoder.chain import ProviderChain
from cocoa_geocoder.jobs import GeocodingJob
from cocoa_geocoder.registry import build_chain
from cocoa_geocoder.service import GeocoderService
from cocoa_geocoder.servicer import GeocoderServicer

SERVICE_NAME = "cocoa.geocoder.v1.GeocoderService"


@dataclass
class GeocoderApp:
    server: grpc.aio.Server
    port: int
    worker: WorkerRuntime
    worker_task: asyncio.Task[None]
    chain: ProviderChain
    service: GeocoderService
    _http: aiohttp.ClientSession
    _redis: aioredis.Redis | None

    async def stop(self, grace: float = 5.0) -> None:
        await self.worker.shutdown(grace)
        await cancel_and_wait(self.worker_task)
        await self.server.stop(grace)
        await self.chain.close()
        await self._http.close()
        if self._redis is not None:
            await self._redis.aclose()
        await self.service.sessions.kw["bind"].dispose()


async def start_geocoder(
    settings: Settings, addr: str | None = None, *, worker_id: str | None = None
) -> GeocoderApp:
    """Serve lookups on ``addr`` (default settings.geocoder_grpc_addr) and run geocoding jobs."""
    server, health = grpc_server.new_server(settings.grpc_max_connection_age_s)
    port = grpc_server.bind(server, addr or settings.geocoder_grpc_addr)  # before opening anything
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    http = aiohttp.ClientSession()
    redis = aioredis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    chain = build_chain(settings, sessions, http, redis)
    service = GeocoderService(sessions, chain)
    pb_grpc.add_GeocoderServiceServicer_to_server(GeocoderServicer(service), server)
    await server.start()
    await grpc_server.mark_serving(health, SERVICE_NAME)
    worker = WorkerRuntime(
        settings.coordinator_grpc_addr,
        "geocoder",
        {jt.GEOCODING: GeocodingJob(sessions, chain, settings.geocoder_batch_size)},
        capacity=settings.worker_capacity,
        worker_id=worker_id,
        after_forced_stop=engine.dispose,
    )
    worker_task = asyncio.create_task(worker.run(), name="geocoder-worker")
    return GeocoderApp(server, port, worker, worker_task, chain, service, http, redis)
