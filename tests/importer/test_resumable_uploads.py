"""Resumable uploads over the importer's gRPC API: a file created with its length, appended to at its
offset by as many calls as it takes (a call cut short keeps what arrived), and imported once
complete. Real coordinator and importer, PostgreSQL, uploads in tmp_path."""

from __future__ import annotations

import asyncio
import errno
import gzip
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from importer_system import TERMINAL, ImportSystem
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_common.ids import utcnow
from cocoa_importer.resumable import ResumableUploads

NC_FILE = encode(ncsbe_lines(sample_voters(40, seed=11)))
SHA256 = hashlib.sha256(NC_FILE).hexdigest()
DAY = timedelta(hours=24)


async def create(system: ImportSystem, length: int = len(NC_FILE), filename: str = "ncvoter32.txt") -> str:
    request = ipb.CreateResumableUploadRequest(filename=filename, length=length, created_by_id="")
    return (await system.uploads.CreateResumableUpload(request)).id


async def append(
    system: ImportSystem,
    upload_id: str,
    offset: int,
    data: bytes,
    *,
    algorithm: str = "",
    digest: bytes = b"",
) -> ipb.ResumableUpload:
    async def messages() -> AsyncIterator[ipb.AppendChunk]:
        header = ipb.AppendHeader(id=upload_id, offset=offset, checksum_algorithm=algorithm, checksum=digest)
        yield ipb.AppendChunk(header=header)
        for start in range(0, len(data), 1000):
            yield ipb.AppendChunk(data=data[start : start + 1000])

    return await system.uploads.AppendResumableUpload(messages())


async def append_once_free(
    system: ImportSystem, upload_id: str, offset: int, data: bytes
) -> ipb.ResumableUpload:
    """Append as a client does after a dropped call: the importer may still be letting go of it."""
    for _ in range(100):  # at most ~5 s
        try:
            return await append(system, upload_id, offset, data)
        except grpc.aio.AioRpcError as exc:
            if "Another request is writing" not in (exc.details() or ""):
                raise
        await asyncio.sleep(0.05)
    raise AssertionError(f"upload {upload_id} stayed locked")


async def appending(system: ImportSystem, upload_id: str, data: bytes) -> grpc.aio.StreamUnaryCall:
    """An append still open once the importer has written ``data`` (from offset 0)."""
    call = system.uploads.AppendResumableUpload()
    await call.write(ipb.AppendChunk(header=ipb.AppendHeader(id=upload_id, offset=0)))
    await call.write(ipb.AppendChunk(data=data))
    for _ in range(200):  # at most ~4 s
        if (await status(system, upload_id)).offset == len(data):
            return call
        await asyncio.sleep(0.02)
    raise AssertionError(f"the importer did not write {len(data)} bytes of upload {upload_id}")


async def status(system: ImportSystem, upload_id: str) -> ipb.ResumableUpload:
    return await system.uploads.GetResumableUpload(ipb.GetResumableUploadRequest(id=upload_id))


async def import_upload(system: ImportSystem, upload_id: str, **header: object) -> ipb.UploadResponse:
    fields = {"kind": "voter_import", "format": "ncsbe", **header}

    async def messages() -> AsyncIterator[ipb.UploadChunk]:
        yield ipb.UploadChunk(header=ipb.UploadHeader(upload_id=upload_id, **fields))  # type: ignore[arg-type]

    return await system.uploads.Upload(messages())


async def complete_upload(
    system: ImportSystem, data: bytes = NC_FILE, filename: str = "ncvoter32.txt"
) -> str:
    upload_id = await create(system, len(data), filename)
    await append(system, upload_id, 0, data)
    return upload_id


async def refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value


def stored_files(system: ImportSystem) -> list[str]:
    directory = Path(system.settings.upload_dir)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def test_a_new_upload_starts_at_offset_zero_with_its_length_and_expiry(system: ImportSystem) -> None:
    upload = await status(system, await create(system))
    assert (upload.offset, upload.length, upload.filename) == (0, len(NC_FILE), "ncvoter32.txt")
    expires = upload.expires_at.ToDatetime().replace(tzinfo=utcnow().tzinfo)
    assert DAY - timedelta(minutes=1) < expires - utcnow() <= DAY


async def test_a_file_sent_in_three_appends_imports_with_exact_counts(system: ImportSystem) -> None:
    upload_id = await create(system)
    third = len(NC_FILE) // 3
    for start, end in ((0, third), (third, 2 * third), (2 * third, len(NC_FILE))):
        assert (await append(system, upload_id, start, NC_FILE[start:end])).offset == end
    accepted = await import_upload(system, upload_id)
    job = await system.wait(accepted.job_id, TERMINAL)
    assert (job.status, job.processed_items, job.failed_items) == (cpb.JOB_STATUS_COMPLETED, 40, 0)
    assert (accepted.sha256, accepted.size_bytes) == (SHA256, len(NC_FILE))


async def test_an_append_at_the_wrong_offset_is_refused_and_writes_nothing(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:100])
    error = await refused(append(system, upload_id, 50, NC_FILE[50:200]))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "Upload-Offset 50 is not the upload's offset 100" in (error.details() or "")
    assert (await status(system, upload_id)).offset == 100


async def test_an_append_cut_short_keeps_what_arrived_and_the_next_carries_on(system: ImportSystem) -> None:
    upload_id = await create(system)
    call = await appending(system, upload_id, NC_FILE[:1500])
    call.cancel()  # the connection drops
    assert (await status(system, upload_id)).offset == 1500
    await append_once_free(system, upload_id, 1500, NC_FILE[1500:])
    accepted = await import_upload(system, upload_id)
    job = await system.wait(accepted.job_id, TERMINAL)
    assert (job.status, job.processed_items, accepted.sha256) == (cpb.JOB_STATUS_COMPLETED, 40, SHA256)


async def test_an_append_whose_checksum_does_not_match_keeps_none_of_its_bytes(system: ImportSystem) -> None:
    upload_id = await create(system)
    wrong = hashlib.sha1(b"something else").digest()
    error = await refused(append(system, upload_id, 0, NC_FILE[:2000], algorithm="sha1", digest=wrong))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert "do not have the sha1 checksum sent with them" in (error.details() or "")
    assert (await status(system, upload_id)).offset == 0


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
async def test_an_append_whose_checksum_matches_is_kept(system: ImportSystem, algorithm: str) -> None:
    upload_id = await create(system)
    digest = hashlib.new(algorithm, NC_FILE[:2000]).digest()
    appended = await append(system, upload_id, 0, NC_FILE[:2000], algorithm=algorithm, digest=digest)
    assert appended.offset == 2000


async def test_an_unknown_checksum_algorithm_is_refused(system: ImportSystem) -> None:
    upload_id = await create(system)
    error = await refused(append(system, upload_id, 0, NC_FILE[:10], algorithm="crc32", digest=b"1234"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Unsupported checksum algorithm 'crc32'" in (error.details() or "")


async def test_an_append_past_the_length_is_refused_and_keeps_none_of_its_bytes(system: ImportSystem) -> None:
    upload_id = await create(system, length=100)
    await append(system, upload_id, 0, NC_FILE[:60])
    error = await refused(append(system, upload_id, 60, NC_FILE[60:2000]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "sends more than the 40 left" in (error.details() or "")
    assert (await status(system, upload_id)).offset == 60


async def test_a_second_writer_is_refused_while_the_first_appends(system: ImportSystem) -> None:
    upload_id = await create(system)
    first = await appending(system, upload_id, NC_FILE[:100])
    error = await refused(append(system, upload_id, 100, NC_FILE[100:200]))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "Another request is writing or importing upload" in (error.details() or "")
    await first.write(ipb.AppendChunk(data=NC_FILE[100:]))
    await first.done_writing()
    assert (await first).offset == len(NC_FILE)


async def test_an_incomplete_upload_cannot_be_imported(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:500])
    error = await refused(import_upload(system, upload_id))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"is not complete: 500 of its {len(NC_FILE)} bytes have arrived" in (error.details() or "")


async def test_an_import_refused_for_its_format_keeps_the_upload_for_a_corrected_one(
    system: ImportSystem,
) -> None:
    upload_id = await complete_upload(system)
    error = await refused(import_upload(system, upload_id, format="florida"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stored_files(system) == [f"{upload_id}.part"]
    job = await system.wait((await import_upload(system, upload_id)).job_id, TERMINAL)
    assert (job.status, job.processed_items) == (cpb.JOB_STATUS_COMPLETED, 40)


async def test_an_imported_upload_is_spent_and_names_its_job(system: ImportSystem) -> None:
    upload_id = await complete_upload(system)
    accepted = await import_upload(system, upload_id)
    upload = await status(system, upload_id)
    assert (upload.job_id, upload.offset, upload.HasField("expires_at")) == (
        accepted.job_id,
        len(NC_FILE),
        False,
    )
    error = await refused(import_upload(system, upload_id))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert f"was imported by job {accepted.job_id}" in (error.details() or "")
    assert f"{upload_id}.part" not in stored_files(system)


async def test_the_upload_name_is_the_import_filename_unless_the_import_gives_one(
    system: ImportSystem,
) -> None:
    upload_id = await complete_upload(system, filename="voters.csv")
    error = await refused(import_upload(system, upload_id))
    assert 'Invalid file extension for format "ncsbe"' in (error.details() or "")
    accepted = await import_upload(system, upload_id, filename="ncvoter32.txt")
    assert accepted.size_bytes == len(NC_FILE)


async def test_a_gzip_upload_is_inflated_when_imported(system: ImportSystem) -> None:
    upload_id = await complete_upload(system, gzip.compress(NC_FILE), filename="ncvoter32.txt.gz")
    accepted = await import_upload(system, upload_id)
    job = await system.wait(accepted.job_id, TERMINAL)
    assert (job.status, job.processed_items, accepted.size_bytes) == (
        cpb.JOB_STATUS_COMPLETED,
        40,
        len(NC_FILE),
    )


async def test_an_import_naming_an_upload_sends_no_bytes_of_its_own(system: ImportSystem) -> None:
    upload_id = await complete_upload(system)

    async def messages() -> AsyncIterator[ipb.UploadChunk]:
        header = ipb.UploadHeader(upload_id=upload_id, kind="voter_import", format="ncsbe")
        yield ipb.UploadChunk(header=header)
        yield ipb.UploadChunk(data=b"more")

    error = await refused(system.uploads.Upload(messages()))
    assert "sends no file bytes of its own" in (error.details() or "")


@pytest.mark.parametrize(
    ("length", "code", "message"),
    [
        (-1, grpc.StatusCode.INVALID_ARGUMENT, "Upload-Length must not be negative"),
        (6 * 1024**3, grpc.StatusCode.RESOURCE_EXHAUSTED, "over the 5368709120 byte upload limit"),
    ],
)
async def test_a_length_out_of_bounds_is_refused(
    system: ImportSystem, length: int, code: grpc.StatusCode, message: str
) -> None:
    error = await refused(create(system, length=length))
    assert error.code() == code
    assert message in (error.details() or "")


@pytest.mark.parametrize("upload_id", ["c00000000000000000000000", "../../etc/passwd", ""])
async def test_an_unknown_upload_is_not_found(system: ImportSystem, upload_id: str) -> None:
    error = await refused(status(system, upload_id))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_an_empty_upload_is_complete_at_once_and_refused_as_empty_when_imported(
    system: ImportSystem,
) -> None:
    upload_id = await create(system, length=0)
    assert (await status(system, upload_id)).offset == 0
    error = await refused(import_upload(system, upload_id))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "The uploaded file is empty")


async def test_a_deleted_upload_is_gone_with_its_bytes(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:300])
    await system.uploads.DeleteResumableUpload(ipb.DeleteResumableUploadRequest(id=upload_id))
    assert (await refused(status(system, upload_id))).code() == grpc.StatusCode.NOT_FOUND
    assert stored_files(system) == []


async def test_an_upload_nobody_appends_to_for_a_day_is_removed_with_its_bytes(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:300])
    result = await system.importer.retention.sweep(utcnow() + DAY + timedelta(minutes=1))
    assert result.resumable == 1
    assert (await refused(status(system, upload_id))).code() == grpc.StatusCode.NOT_FOUND
    assert stored_files(system) == []


async def test_an_upload_appended_to_within_the_day_is_kept(system: ImportSystem) -> None:
    upload_id = await create(system)
    result = await system.importer.retention.sweep(utcnow() + DAY - timedelta(minutes=5))
    assert result.resumable == 0
    assert (await status(system, upload_id)).offset == 0


async def test_an_imported_upload_is_forgotten_a_day_after_its_import(system: ImportSystem) -> None:
    upload_id = await complete_upload(system)
    await import_upload(system, upload_id)
    assert (await system.importer.retention.sweep(utcnow() + DAY + timedelta(minutes=1))).resumable == 1
    assert (await refused(status(system, upload_id))).code() == grpc.StatusCode.NOT_FOUND


async def test_storage_without_hard_links_gets_a_copy(
    system: ImportSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    upload_id = await complete_upload(system)
    job = await system.wait((await import_upload(system, upload_id)).job_id, TERMINAL)
    assert (job.status, job.processed_items) == (cpb.JOB_STATUS_COMPLETED, 40)


async def test_the_importing_process_knows_the_sha256_of_what_it_appended(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:999])
    await append(system, upload_id, 999, NC_FILE[999:])
    hashed = system.importer.service.resumable.hashes.latest(upload_id)
    assert hashed is not None
    assert (hashed.offset, hashed.digest.hexdigest()) == (len(NC_FILE), SHA256)


async def test_a_refused_piece_leaves_the_sha256_of_what_was_kept(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:500])
    wrong = hashlib.sha1(b"x").digest()
    await refused(append(system, upload_id, 500, NC_FILE[500:900], algorithm="sha1", digest=wrong))
    await refused(append(system, upload_id, 500, NC_FILE[500:] + b"overflow"))
    await append(system, upload_id, 500, NC_FILE[500:])
    assert (await import_upload(system, upload_id)).sha256 == SHA256


async def test_pieces_appended_by_another_replica_are_read_to_finish_the_sha256(system: ImportSystem) -> None:
    upload_id = await create(system)
    await append(system, upload_id, 0, NC_FILE[:1200])
    service = system.importer.service
    other_replica = ResumableUploads(service.sessions, service.store)

    async def rest() -> AsyncIterator[bytes]:
        yield NC_FILE[1200:]

    await other_replica.append(upload_id, 1200, rest())
    assert service.resumable.hashes.latest(upload_id).offset == 1200  # type: ignore[union-attr]
    assert (await import_upload(system, upload_id)).sha256 == SHA256


async def test_a_replayed_import_with_its_idempotency_key_answers_the_first_job(system: ImportSystem) -> None:
    upload_id = await complete_upload(system)
    first = await import_upload(system, upload_id, idempotency_key="k-1", created_by_id="u1")
    again = await import_upload(system, upload_id, idempotency_key="k-1", created_by_id="u1")
    assert (again.job_id, again.created, first.created) == (first.job_id, False, True)


@pytest.mark.parametrize(("key", "caller"), [("k-2", "u1"), ("k-1", "u2"), ("", "u1")])
async def test_an_import_of_a_spent_upload_with_another_key_or_caller_is_a_conflict(
    system: ImportSystem, key: str, caller: str
) -> None:
    upload_id = await complete_upload(system)
    await import_upload(system, upload_id, idempotency_key="k-1", created_by_id="u1")
    error = await refused(import_upload(system, upload_id, idempotency_key=key, created_by_id=caller))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
