"""A real coordinator and importer for importer tests, plus upload and polling helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as cpb_grpc
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa.importer.v1 import importer_pb2_grpc as ipb_grpc
from cocoa_common import db, grpc_server
from cocoa_common.models import Household, Parcel, Voter
from cocoa_common.settings import Settings
from cocoa_coordinator.server import CoordinatorApp, start_coordinator
from cocoa_importer.server import ImporterApp, start_importer

TERMINAL = (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED, cpb.JOB_STATUS_CANCELLED)


@dataclass
class ImportSystem:
    settings: Settings
    coordinator: CoordinatorApp
    importer: ImporterApp
    jobs: cpb_grpc.CoordinatorServiceStub
    uploads: ipb_grpc.ImporterServiceStub

    async def upload(
        self,
        data: bytes,
        *,
        filename: str,
        format: str,
        kind: str = "voter_import",
        import_type: str = "full",
        options: dict | None = None,
        chunk: int = 4096,
        sha256: str = "",
        trailer: ipb.UploadHeader | None = None,
    ) -> ipb.UploadResponse:
        """``trailer``: a second header after the data, as for form fields that follow the file."""
        header = ipb.UploadHeader(
            kind=kind,
            filename=filename,
            format=format,
            import_type=import_type,
            options_json=json.dumps(options) if options else "",
            sha256=sha256,
        )

        async def chunks() -> AsyncIterator[ipb.UploadChunk]:
            yield ipb.UploadChunk(header=header)
            for start in range(0, len(data), chunk):
                yield ipb.UploadChunk(data=data[start : start + chunk])
            if trailer is not None:
                yield ipb.UploadChunk(header=trailer)

        return await self.uploads.Upload(chunks())

    async def create_resumable(self, length: int, *, filename: str = "ncvoter32.txt", by: str = "") -> str:
        """A new resumable upload's id; ``by``: the user creating it (empty: an internal caller)."""
        request = ipb.CreateResumableUploadRequest(filename=filename, length=length, created_by_id=by)
        return (await self.uploads.CreateResumableUpload(request)).id

    async def append_resumable(
        self, upload_id: str, offset: int, data: bytes, *, by: str = ""
    ) -> ipb.ResumableUpload:
        async def messages() -> AsyncIterator[ipb.AppendChunk]:
            yield ipb.AppendChunk(header=ipb.AppendHeader(id=upload_id, offset=offset, requested_by_id=by))
            yield ipb.AppendChunk(data=data)

        return await self.uploads.AppendResumableUpload(messages())

    async def import_resumable(
        self, upload_id: str, *, by: str = "", format: str = "ncsbe"
    ) -> ipb.UploadResponse:
        header = ipb.UploadHeader(kind="voter_import", format=format, upload_id=upload_id, created_by_id=by)

        async def messages() -> AsyncIterator[ipb.UploadChunk]:
            yield ipb.UploadChunk(header=header)

        return await self.uploads.Upload(messages())

    async def crash_and_replace_importer(self) -> ImporterApp:
        """Kill the importer as a dying process would (no final report) and start a replacement.
        Returns the dead one: the test closes what it held (its channel and database pool) at the end."""
        crashed = self.importer
        crashed.worker_task.cancel()
        crashed.retention_task.cancel()
        await crashed.server.stop(0)
        self.importer = await start_importer(self.settings, "127.0.0.1:0", worker_id="replacement")
        return crashed

    async def run(self, data: bytes, timeout: float = 30.0, **kwargs: object) -> cpb.Job:
        accepted = await self.upload(data, **kwargs)  # type: ignore[arg-type]
        return await self.wait(accepted.job_id, TERMINAL, timeout)

    async def wait(self, job_id: str, statuses: tuple[int, ...], timeout: float = 30.0) -> cpb.Job:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            job = await self.jobs.GetJob(cpb.GetJobRequest(id=job_id, include_errors=True))
            if job.status in statuses:
                return job
            if loop.time() > deadline:
                raise AssertionError(f"job {job_id} stuck in {cpb.JobStatus.Name(job.status)}")
            await asyncio.sleep(0.05)


async def until_processed(system: ImportSystem, job_id: str, rows: int) -> None:
    for _ in range(200):  # at most ~4 s
        if (await system.jobs.GetJob(cpb.GetJobRequest(id=job_id))).processed_items >= rows:
            return
        await asyncio.sleep(0.02)


async def stop_midway(system: ImportSystem, job_id: str, after_rows: int, action: int) -> cpb.Job:
    """Pause or cancel the job once ``after_rows`` are in; the job once its worker has stopped."""
    await system.wait(job_id, (cpb.JOB_STATUS_PROCESSING,))
    await until_processed(system, job_id, after_rows)
    await system.jobs.ControlJob(cpb.ControlJobRequest(id=job_id, action=action))
    # The worker stops at its batch boundary, reports that batch and gives the job back.
    for _ in range(400):  # 400 × 0.025 s
        job = await system.jobs.GetJob(cpb.GetJobRequest(id=job_id))
        if not job.HasField("lease_expires_at"):
            return job
        await asyncio.sleep(0.025)
    raise AssertionError(f"the worker of job {job_id} did not stop within 10 s")


async def table_rows(database_url: str, model: type) -> list:
    engine = db.create_engine(database_url)
    try:
        async with db.session_factory(engine)() as session:
            return list((await session.execute(select(model).order_by(model.id))).scalars())
    finally:
        await engine.dispose()


async def counts(database_url: str) -> dict[str, int]:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = {}
            for name, model in (("voters", Voter), ("households", Household), ("parcels", Parcel)):
                result[name] = (await conn.execute(select(func.count()).select_from(model))).scalar_one()
            return result
    finally:
        await engine.dispose()


async def start_system(
    settings: Settings, tmp_path: Path, *, importer_database_url: str | None = None
) -> AsyncIterator[ImportSystem]:
    """``importer_database_url``: the importer's own way to the database (through a fault proxy)."""
    coordinator = await start_coordinator(settings, "127.0.0.1:0")
    settings = settings.with_overrides(
        coordinator_grpc_addr=f"127.0.0.1:{coordinator.port}", upload_dir=str(tmp_path / "uploads")
    )
    importer_settings = settings.with_overrides(database_url=importer_database_url or settings.database_url)
    importer = await start_importer(importer_settings, "127.0.0.1:0")
    await asyncio.wait_for(importer.worker.connected.wait(), 5)
    async with (
        grpc_server.channel(f"127.0.0.1:{coordinator.port}") as c1,
        grpc_server.channel(f"127.0.0.1:{importer.port}") as c2,
    ):
        system = ImportSystem(
            settings,
            coordinator,
            importer,
            cpb_grpc.CoordinatorServiceStub(c1),
            ipb_grpc.ImporterServiceStub(c2),
        )
        yield system
        await system.importer.stop(grace=0.5)
        await coordinator.stop(grace=0.5)
