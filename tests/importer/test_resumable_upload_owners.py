"""Resumable uploads belong to the user who created them, who may hold only so many unfinished ones.
Real coordinator and importer over gRPC, PostgreSQL, uploads in tmp_path; the cap is lowered to 3."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from importer_system import TERMINAL, ImportSystem, start_system
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_common.grpc_server import domain_error_kind
from cocoa_common.settings import Settings

NC_FILE = encode(ncsbe_lines(sample_voters(12, seed=5)))
CAP = 3
OWNER, OTHER = "user-owner", "user-other"


@pytest.fixture
async def system(settings: Settings, tmp_path: Path) -> AsyncIterator[ImportSystem]:
    async for s in start_system(settings.with_overrides(upload_max_open_per_user=CAP), tmp_path):
        yield s


async def refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value


async def status(system: ImportSystem, upload_id: str, by: str) -> ipb.ResumableUpload:
    request = ipb.GetResumableUploadRequest(id=upload_id, requested_by_id=by)
    return await system.uploads.GetResumableUpload(request)


async def delete(system: ImportSystem, upload_id: str, by: str) -> None:
    request = ipb.DeleteResumableUploadRequest(id=upload_id, requested_by_id=by)
    await system.uploads.DeleteResumableUpload(request)


async def listed(system: ImportSystem, by: str) -> list[str]:
    found = await system.uploads.ListResumableUploads(ipb.ListResumableUploadsRequest(created_by_id=by))
    return [u.id for u in found.uploads]


def expire(system: ImportSystem, upload_id: str) -> None:
    """Age the upload's file past the day an upload nobody appends to lives."""
    path = system.importer.service.store.partial_path(upload_id)
    two_days_ago = time.time() - 2 * 86400
    os.utime(path, (two_days_ago, two_days_ago))


async def test_another_users_upload_is_not_found_to_them(system: ImportSystem) -> None:
    upload_id = await system.create_resumable(len(NC_FILE), by=OWNER)
    error = await refused(status(system, upload_id, OTHER))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f"No upload {upload_id}"


async def test_another_user_cannot_append_to_an_upload(system: ImportSystem) -> None:
    upload_id = await system.create_resumable(len(NC_FILE), by=OWNER)
    error = await refused(system.append_resumable(upload_id, 0, NC_FILE[:100], by=OTHER))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert (await status(system, upload_id, OWNER)).offset == 0


async def test_another_user_cannot_delete_an_upload(system: ImportSystem) -> None:
    upload_id = await system.create_resumable(len(NC_FILE), by=OWNER)
    error = await refused(delete(system, upload_id, OTHER))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert (await status(system, upload_id, OWNER)).length == len(NC_FILE)


async def test_another_user_cannot_import_an_upload(system: ImportSystem) -> None:
    upload_id = await system.create_resumable(len(NC_FILE), by=OWNER)
    await system.append_resumable(upload_id, 0, NC_FILE, by=OWNER)
    error = await refused(system.import_resumable(upload_id, by=OTHER))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    accepted = await system.import_resumable(upload_id, by=OWNER)
    job = await system.wait(accepted.job_id, TERMINAL)
    assert (job.status, job.processed_items) == (cpb.JOB_STATUS_COMPLETED, 12)


async def test_an_internal_caller_naming_no_user_may_use_any_upload(system: ImportSystem) -> None:
    upload_id = await system.create_resumable(len(NC_FILE), by=OWNER)
    assert (await system.append_resumable(upload_id, 0, NC_FILE)).offset == len(NC_FILE)
    assert (await status(system, upload_id, "")).created_by_id == OWNER


async def test_a_user_holding_the_most_unfinished_uploads_cannot_create_another(
    system: ImportSystem,
) -> None:
    for _ in range(CAP):
        await system.create_resumable(len(NC_FILE), by=OWNER)
    error = await refused(system.create_resumable(len(NC_FILE), by=OWNER))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert domain_error_kind(error) == "QuotaExceeded"
    assert error.details() == (
        "You have 3 unfinished uploads, the most one user may hold (3): import or delete one first;"
        " an upload nobody appends to expires a day after its last byte"
    )
    assert len(await listed(system, OWNER)) == CAP


async def test_the_cap_counts_each_user_apart(system: ImportSystem) -> None:
    for _ in range(CAP):
        await system.create_resumable(len(NC_FILE), by=OWNER)
    assert await system.create_resumable(len(NC_FILE), by=OTHER)


async def test_a_deleted_upload_frees_its_place(system: ImportSystem) -> None:
    ids = [await system.create_resumable(len(NC_FILE), by=OWNER) for _ in range(CAP)]
    await delete(system, ids[0], OWNER)
    assert await system.create_resumable(len(NC_FILE), by=OWNER)


async def test_an_imported_upload_frees_its_place(system: ImportSystem) -> None:
    ids = [await system.create_resumable(len(NC_FILE), by=OWNER) for _ in range(CAP)]
    await system.append_resumable(ids[0], 0, NC_FILE, by=OWNER)
    await system.import_resumable(ids[0], by=OWNER)
    assert await system.create_resumable(len(NC_FILE), by=OWNER)


async def test_an_expired_upload_the_sweep_has_not_removed_frees_its_place(system: ImportSystem) -> None:
    ids = [await system.create_resumable(len(NC_FILE), by=OWNER) for _ in range(CAP)]
    expire(system, ids[0])
    newest = await system.create_resumable(len(NC_FILE), by=OWNER)
    assert await listed(system, OWNER) == [newest, ids[2], ids[1]]


async def test_creations_at_once_never_pass_the_cap(system: ImportSystem) -> None:
    attempts = [system.create_resumable(len(NC_FILE), by=OWNER) for _ in range(CAP * 3)]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    created = [r for r in results if isinstance(r, str)]
    quota = [
        r for r in results if isinstance(r, grpc.aio.AioRpcError) and domain_error_kind(r) == "QuotaExceeded"
    ]
    assert (len(created), len(quota)) == (CAP, CAP * 2)
    assert sorted(await listed(system, OWNER)) == sorted(created)


async def test_the_list_shows_a_users_unfinished_uploads_newest_first(system: ImportSystem) -> None:
    first = await system.create_resumable(len(NC_FILE), by=OWNER)
    imported = await system.create_resumable(len(NC_FILE), by=OWNER)
    await system.create_resumable(len(NC_FILE), by=OTHER)
    await system.append_resumable(imported, 0, NC_FILE, by=OWNER)
    await system.import_resumable(imported, by=OWNER)
    last = await system.create_resumable(len(NC_FILE), filename="later.txt", by=OWNER)
    await system.append_resumable(last, 0, NC_FILE[:10], by=OWNER)
    found = await system.uploads.ListResumableUploads(ipb.ListResumableUploadsRequest(created_by_id=OWNER))
    assert [u.id for u in found.uploads] == [last, first]
    assert (found.uploads[0].filename, found.uploads[0].offset, found.max_open) == ("later.txt", 10, CAP)


async def test_listing_needs_a_user(system: ImportSystem) -> None:
    error = await refused(system.uploads.ListResumableUploads(ipb.ListResumableUploadsRequest()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_uploads_of_internal_callers_count_against_no_cap(system: ImportSystem) -> None:
    ids = [await system.create_resumable(len(NC_FILE)) for _ in range(CAP + 1)]
    assert len(set(ids)) == CAP + 1
