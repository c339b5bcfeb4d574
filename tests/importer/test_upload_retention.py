"""Uploaded files are removed once their import has been finished for the retention period; the
upload rows stay. Real coordinator and importer, PostgreSQL, files in tmp_path."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from importer_system import ImportSystem, start_system, stop_midway, table_rows
from voterfiles import encode, ncsbe_lines, sample_voters, simple_csv_lines

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common import db
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import Upload
from cocoa_common.settings import Settings
from cocoa_coordinator.archive import archive_finished
from cocoa_importer.server import upload_retention

RETENTION = timedelta(hours=168)  # the default
CONTACTS = encode(simple_csv_lines(sample_voters(5, seed=3)))


async def finished_upload(system: ImportSystem) -> Upload:
    job = await system.run(CONTACTS, filename="contacts.csv", format="simple_csv")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    (upload,) = await table_rows(system.settings.database_url, Upload)
    return upload


def file_in_storage(system: ImportSystem, name: str, data: bytes = CONTACTS) -> Path:
    """A file written straight into upload storage, as a crash or an operator would leave it."""
    directory = Path(system.settings.upload_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path


def aged(path: Path, age: timedelta) -> Path:
    when = (utcnow() - age).timestamp()
    os.utime(path, (when, when))
    return path


async def test_an_upload_names_the_job_that_reads_it(system: ImportSystem) -> None:
    accepted = await system.upload(CONTACTS, filename="contacts.csv", format="simple_csv")
    (upload,) = await table_rows(system.settings.database_url, Upload)
    assert upload.job_id == accepted.job_id


async def test_a_finished_imports_file_is_kept_within_the_retention(system: ImportSystem) -> None:
    upload = await finished_upload(system)
    result = await system.importer.retention.sweep(utcnow() + RETENTION - timedelta(hours=1))
    assert result.expired == 0
    assert Path(upload.path).exists()


async def test_a_finished_imports_file_is_removed_after_the_retention_and_its_row_kept(
    system: ImportSystem,
) -> None:
    upload = await finished_upload(system)
    later = utcnow() + RETENTION + timedelta(hours=1)
    result = await system.importer.retention.sweep(later)
    (after,) = await table_rows(system.settings.database_url, Upload)
    assert result.expired == 1
    assert not Path(upload.path).exists()
    assert after.deleted_at is not None
    assert (after.filename, after.size_bytes, after.sha256) == (
        upload.filename,
        upload.size_bytes,
        upload.sha256,
    )


async def test_a_removed_upload_is_not_removed_again(system: ImportSystem) -> None:
    await finished_upload(system)
    later = utcnow() + RETENTION + timedelta(hours=1)
    await system.importer.retention.sweep(later)
    assert (await system.importer.retention.sweep(later)).expired == 0


async def test_a_paused_imports_file_is_kept_past_the_retention(system: ImportSystem) -> None:
    system.importer.worker.handlers["voter_import"].batch_rows = 100  # type: ignore[attr-defined]
    data = encode(ncsbe_lines(sample_voters(3000, seed=4)))
    accepted = await system.upload(data, filename="big.txt", format="ncsbe")
    paused = await stop_midway(system, accepted.job_id, 300, cpb.CONTROL_ACTION_PAUSE)
    assert paused.status == cpb.JOB_STATUS_PAUSED
    result = await system.importer.retention.sweep(utcnow() + RETENTION * 10)
    (upload,) = await table_rows(system.settings.database_url, Upload)
    assert result.expired == 0
    assert Path(upload.path).exists()
    assert upload.deleted_at is None


async def test_an_archived_imports_file_is_removed_after_the_retention(system: ImportSystem) -> None:
    upload = await finished_upload(system)
    engine = db.create_engine(system.settings.database_url)
    try:
        assert await archive_finished(db.session_factory(engine), timedelta(0)) == 1
    finally:
        await engine.dispose()
    result = await system.importer.retention.sweep(utcnow() + RETENTION + timedelta(hours=1))
    assert result.expired == 1
    assert not Path(upload.path).exists()


async def test_a_retention_of_zero_keeps_finished_imports_files_forever(system: ImportSystem) -> None:
    upload = await finished_upload(system)
    settings = system.settings.with_overrides(upload_retention_hours=0)
    forever = upload_retention(settings, system.importer.service, system.jobs)
    result = await forever.sweep(utcnow() + timedelta(days=3650))
    assert result.expired == 0
    assert Path(upload.path).exists()


async def test_a_partial_upload_a_day_old_is_removed(system: ImportSystem) -> None:
    abandoned = file_in_storage(system, f"{new_id()}.txt.part", b"half a file")
    aged(abandoned, timedelta(hours=25))
    result = await system.importer.retention.sweep()
    assert result.orphans == 1
    assert not abandoned.exists()


async def test_a_partial_upload_still_arriving_is_kept(system: ImportSystem) -> None:
    arriving = file_in_storage(system, f"{new_id()}.txt.part", b"the first chunks")
    assert (await system.importer.retention.sweep()).orphans == 0
    assert arriving.exists()


async def test_a_file_no_upload_names_is_removed_once_a_day_old(system: ImportSystem) -> None:
    stray = file_in_storage(system, f"{new_id()}.csv", b"left by a crash between storing and recording")
    aged(stray, timedelta(hours=25))
    assert (await system.importer.retention.sweep()).orphans == 1
    assert not stray.exists()


async def test_a_day_old_file_of_a_recorded_upload_is_not_an_orphan(system: ImportSystem) -> None:
    upload = await finished_upload(system)
    aged(Path(upload.path), timedelta(hours=25))
    assert (await system.importer.retention.sweep()).orphans == 0
    assert Path(upload.path).exists()


async def test_files_not_named_like_uploads_are_left_alone(system: ImportSystem) -> None:
    notes = file_in_storage(system, "README.txt", b"ops notes")
    aged(notes, timedelta(days=30))
    assert (await system.importer.retention.sweep()).orphans == 0
    assert notes.exists()


@pytest.fixture
async def sweeping_system(settings: Settings, tmp_path: Path) -> AsyncIterator[ImportSystem]:
    """A system whose importer sweeps every 50 ms and keeps finished uploads for about 4 ms."""
    fast = settings.with_overrides(upload_retention_hours=0.000001, upload_sweep_interval_s=0.05)
    async for s in start_system(fast, tmp_path):
        yield s


async def test_the_importer_sweeps_on_its_interval(sweeping_system: ImportSystem) -> None:
    upload = await finished_upload(sweeping_system)
    for _ in range(100):  # at most ~5 s
        if not Path(upload.path).exists():
            break
        await asyncio.sleep(0.05)
    assert not Path(upload.path).exists()


async def create_import_job(system: ImportSystem, upload_id: str) -> cpb.Job:
    data = json.dumps({"uploadId": upload_id, "format": "simple_csv"})
    response = await system.jobs.CreateJob(cpb.CreateJobRequest(type="voter_import", data_json=data))
    return response.job


async def test_a_new_job_reading_a_stored_upload_keeps_its_file(system: ImportSystem) -> None:
    upload = await finished_upload(system)
    again = await create_import_job(system, upload.id)
    (after,) = await table_rows(system.settings.database_url, Upload)
    assert after.job_id == again.id


async def test_a_job_for_a_removed_upload_is_refused_with_the_reason(system: ImportSystem) -> None:
    upload = await finished_upload(system)
    await system.importer.retention.sweep(utcnow() + RETENTION + timedelta(hours=1))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create_import_job(system, upload.id)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "removed after its retention period" in (refused.value.details() or "")


async def test_an_upload_whose_job_was_never_created_is_removed_after_the_retention(
    system: ImportSystem,
) -> None:
    stored = file_in_storage(system, f"{new_id()}.csv")
    await add_upload_row(system, stored, job_id=None)
    result = await system.importer.retention.sweep(utcnow() + RETENTION + timedelta(hours=1))
    assert result.expired == 1
    assert not stored.exists()


async def test_a_file_whose_removal_was_claimed_but_not_done_is_removed_as_an_orphan(
    system: ImportSystem,
) -> None:
    stored = file_in_storage(system, f"{new_id()}.csv")
    await add_upload_row(system, stored, job_id="c0000000000000000000000000", deleted=True)
    aged(stored, timedelta(hours=25))
    assert (await system.importer.retention.sweep()).orphans == 1
    assert not stored.exists()


async def add_upload_row(
    system: ImportSystem, path: Path, *, job_id: str | None, deleted: bool = False
) -> None:
    engine = db.create_engine(system.settings.database_url)
    try:
        async with db.session_factory(engine).begin() as session:
            session.add(
                Upload(
                    id=path.name.partition(".")[0],
                    kind="voter_import",
                    filename=path.name,
                    path=str(path),
                    size_bytes=path.stat().st_size,
                    sha256="0" * 64,
                    created_at=utcnow(),
                    job_id=job_id,
                    deleted_at=utcnow() if deleted else None,
                )
            )
    finally:
        await engine.dispose()


def test_retention_and_sweep_interval_come_from_the_environment() -> None:
    settings = Settings.from_env({"UPLOAD_RETENTION_HOURS": "0", "UPLOAD_SWEEP_INTERVAL_SECONDS": "60"})
    assert (settings.upload_retention_hours, settings.upload_sweep_interval_s) == (0.0, 60.0)
    defaults = Settings.from_env({})
    assert (defaults.upload_retention_hours, defaults.upload_sweep_interval_s) == (168.0, 3600.0)
