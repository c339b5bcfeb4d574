"""Builds the importer process: gRPC server for uploads, and a worker connected to the coordinator."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import grpc

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as cpb_grpc
from cocoa.importer.v1 import importer_pb2_grpc as pb_grpc
from cocoa_common import db, grpc_server
from cocoa_common import jobtypes as jt
from cocoa_common.settings import Settings
from cocoa_common.worker import Handler, WorkerRuntime
from cocoa_importer.parcel_job import ParcelImportJob
from cocoa_importer.service import CreateJob, ImporterService
from cocoa_importer.servicer import ImporterServicer
from cocoa_importer.storage import UploadStore
from cocoa_importer.voter_job import VoterImportJob

SERVICE_NAME = "cocoa.importer.v1.ImporterService"


@dataclass
class ImporterApp:
    server: grpc.aio.Server
    port: int
    worker: WorkerRuntime
    worker_task: asyncio.Task[None]
    service: ImporterService
    _channel: grpc.aio.Channel

    async def stop(self, grace: float = 5.0) -> None:
        await self.worker.shutdown(grace)
        self.worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker_task
        await self.server.stop(grace)
        await self._channel.close()
        await self.service.sessions.kw["bind"].dispose()


def job_creator(stub: cpb_grpc.CoordinatorServiceStub, deadline_s: float) -> CreateJob:
    async def create(
        job_type: str, data_json: str, created_by_id: str, idempotency_key: str
    ) -> tuple[str, bool]:
        response = await stub.CreateJob(
            cpb.CreateJobRequest(
                type=job_type,
                data_json=data_json,
                created_by_id=created_by_id,
                idempotency_key=idempotency_key,
            ),
            timeout=deadline_s,
        )
        return response.job.id, response.created

    return create


def handlers(service: ImporterService) -> dict[str, Handler]:
    return {
        jt.VOTER_IMPORT: VoterImportJob(service.sessions, service.store),
        jt.PARCEL_IMPORT: ParcelImportJob(service.sessions, service.store),
    }


async def start_importer(
    settings: Settings, addr: str | None = None, *, worker_id: str | None = None
) -> ImporterApp:
    """Accept uploads on ``addr`` (default settings.importer_grpc_addr) and run import jobs."""
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    channel = grpc_server.channel(settings.coordinator_grpc_addr)
    store = UploadStore(settings.upload_dir, settings.upload_max_bytes)
    service = ImporterService(
        sessions, store, job_creator(cpb_grpc.CoordinatorServiceStub(channel), settings.request_deadline_s)
    )
    server, health = grpc_server.new_server()
    pb_grpc.add_ImporterServiceServicer_to_server(ImporterServicer(service), server)
    port = grpc_server.bind(server, addr or settings.importer_grpc_addr)
    await server.start()
    await grpc_server.mark_serving(health, SERVICE_NAME)
    worker = WorkerRuntime(
        settings.coordinator_grpc_addr,
        "importer",
        handlers(service),
        capacity=settings.worker_capacity,
        worker_id=worker_id,
    )
    worker_task = asyncio.create_task(worker.run(), name="importer-worker")
    return ImporterApp(server, port, worker, worker_task, service, channel)
