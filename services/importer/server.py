"""Builds the importer process: gRPC server for uploads, and a worker connected to the coordinator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, timedelta

import grpc

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as cpb_grpc
from cocoa.importer.v1 import importer_pb2_grpc as pb_grpc
from cocoa_common import db, errors, grpc_server
from cocoa_common import jobtypes as jt
from cocoa_common.grpc_server import error_field
from cocoa_common.process import cancel_and_wait
from cocoa_common.settings import Settings
from cocoa_common.worker import Handler, WorkerRuntime
from cocoa_importer.parcel_job import ParcelImportJob
from cocoa_importer.retention import FindJob, JobEnd, UploadRetention
from cocoa_importer.service import CreateJob, ImporterService, UploadRequest
from cocoa_importer.servicer import ImporterServicer
from cocoa_importer.storage import UploadStore
from cocoa_importer.voter_job import VoterImportJob

SERVICE_NAME = "cocoa.importer.v1.ImporterService"
FINISHED = (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED, cpb.JOB_STATUS_CANCELLED)


@dataclass
class ImporterApp:
    server: grpc.aio.Server
    port: int
    worker: WorkerRuntime
    worker_task: asyncio.Task[None]
    service: ImporterService
    retention: UploadRetention
    retention_task: asyncio.Task[None]
    _channel: grpc.aio.Channel

    async def stop(self, grace: float = 5.0) -> None:
        self.retention_task.cancel()
        await self.worker.shutdown(grace)
        await cancel_and_wait(self.retention_task, self.worker_task)
        await self.server.stop(grace)
        await self._channel.close()
        await self.service.sessions.kw["bind"].dispose()


def job_creator(stub: cpb_grpc.CoordinatorServiceStub, deadline_s: float) -> CreateJob:
    async def create(upload: UploadRequest, data_json: str) -> tuple[str, bool]:
        request = cpb.CreateJobRequest(
            type=upload.kind,
            data_json=data_json,
            created_by_id=upload.created_by_id,
            idempotency_key=upload.idempotency_key,
            depends_on=upload.depends_on,
            priority=upload.priority,
            max_attempts=upload.max_attempts or 0,
            timeout_seconds=upload.timeout_seconds or 0,
            group=upload.group or "",
        )
        if upload.run_at is not None:
            request.run_at.FromDatetime(upload.run_at)
        if upload.expires_at is not None:
            request.expires_at.FromDatetime(upload.expires_at)
        try:
            response = await stub.CreateJob(request, timeout=deadline_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:  # a dependsOn naming no job, say
                raise errors.InvalidArgument(exc.details() or "Invalid job", field=error_field(exc)) from None
            raise
        return response.job.id, response.created

    return create


def job_finder(stub: cpb_grpc.CoordinatorServiceStub, deadline_s: float) -> FindJob:
    async def find(job_id: str) -> JobEnd | None:
        try:
            job = await stub.GetJob(cpb.GetJobRequest(id=job_id), timeout=deadline_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        completed_at = job.completed_at.ToDatetime(tzinfo=UTC) if job.HasField("completed_at") else None
        return JobEnd(job.status in FINISHED, completed_at)

    return find


def upload_retention(
    settings: Settings, service: ImporterService, stub: cpb_grpc.CoordinatorServiceStub
) -> UploadRetention:
    hours = settings.upload_retention_hours
    keep = timedelta(hours=hours) if hours > 0 else None
    finder = job_finder(stub, settings.request_deadline_s)
    return UploadRetention(service.sessions, service.store, finder, keep, resumable=service.resumable)


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
    store = UploadStore(settings.upload_dir, settings.upload_max_bytes, settings.upload_min_free_bytes)
    coordinator = cpb_grpc.CoordinatorServiceStub(channel)
    service = ImporterService(
        sessions,
        store,
        job_creator(coordinator, settings.request_deadline_s),
        max_open_uploads_per_user=settings.upload_max_open_per_user,
    )
    server, health = grpc_server.new_server(settings.grpc_max_connection_age_s)
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
        after_forced_stop=engine.dispose,
    )
    worker_task = asyncio.create_task(worker.run(), name="importer-worker")
    retention = upload_retention(settings, service, coordinator)
    retention_task = asyncio.create_task(
        retention.run_forever(settings.upload_sweep_interval_s), name="importer-upload-retention"
    )
    return ImporterApp(server, port, worker, worker_task, service, retention, retention_task, channel)
