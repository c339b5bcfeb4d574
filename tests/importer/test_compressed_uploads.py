"""Uploads compressed as the states distribute them (gzip, a zip holding one file) import like the
plain file; damaged, ambiguous, encrypted and bomb-sized ones are refused with the reason and leave
nothing in storage. Real coordinator and importer, PostgreSQL."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from importer_system import ImportSystem, start_system, table_rows
from parcel_samples import collection, feature, geojson_bytes, polygon, square
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.models import Parcel, Upload
from cocoa_common.settings import Settings

VOTERS = sample_voters(40, seed=21)
NC_FILE = encode(ncsbe_lines(VOTERS))


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted(archive: bytes) -> bytes:
    """The zip with its one member flagged as encrypted, as a password-protected zip has it."""
    data = bytearray(archive)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_offset
        data[at] |= 0x01
    return bytes(data)


def storage_files(system: ImportSystem) -> list[str]:
    return sorted(p.name for p in Path(system.settings.upload_dir).glob("*"))


async def refused(system: ImportSystem, data: bytes, filename: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(data, filename=filename, format="ncsbe")
    return info.value


async def test_a_gzipped_voter_file_imports_like_the_plain_file(system: ImportSystem) -> None:
    job = await system.run(gzip.compress(NC_FILE), filename="ncvoter32.txt.gz", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (40, 0)


async def test_a_zipped_voter_file_imports_like_the_plain_file(system: ImportSystem) -> None:
    job = await system.run(zipped(("ncvoter32.txt", NC_FILE)), filename="ncvoter32.zip", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (40, 0)


async def test_a_zip_made_on_a_mac_imports_its_one_file(system: ImportSystem) -> None:
    archive = zipped(
        ("ncvoter32/", b""),
        ("ncvoter32/ncvoter32.txt", NC_FILE),
        ("__MACOSX/ncvoter32/._ncvoter32.txt", b"\0"),
    )
    job = await system.run(archive, filename="ncvoter32.zip", format="ncsbe")
    assert (job.status, job.processed_items) == (cpb.JOB_STATUS_COMPLETED, 40)


async def test_the_job_records_the_uploaded_bytes_and_the_file_inside(system: ImportSystem) -> None:
    upload = zipped(("ncvoter32.txt", NC_FILE))
    job = await system.run(upload, filename="ncvoter32.zip", format="ncsbe")
    data = json.loads(job.data_json)
    assert (data["compression"], data["uploadedBytes"], data["contentFilename"]) == (
        "zip",
        len(upload),
        "ncvoter32.txt",
    )
    assert data["sizeBytes"] == len(NC_FILE)


async def test_the_stored_file_is_the_inflated_one(system: ImportSystem) -> None:
    await system.run(gzip.compress(NC_FILE), filename="ncvoter32.txt.gz", format="ncsbe")
    (upload,) = await table_rows(system.settings.database_url, Upload)
    assert Path(upload.path).name.endswith(".txt")
    assert Path(upload.path).read_bytes() == NC_FILE


async def test_auto_detection_reads_the_inflated_file(system: ImportSystem) -> None:
    accepted = await system.upload(gzip.compress(NC_FILE), filename="voters.txt.gz", format="auto")
    assert accepted.format == "ncsbe"


async def test_a_gzipped_parcel_layer_imports(system: ImportSystem) -> None:
    layer = geojson_bytes(collection([feature({"APN": "A-1"}, polygon(square(-78.9, 35.99, 0.001)))]))
    job = await system.run(
        gzip.compress(layer), filename="parcels.geojson.gz", format="", kind="parcel_import"
    )
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert [p.apn for p in await table_rows(system.settings.database_url, Parcel)] == ["A-1"]


async def test_a_zip_holding_two_files_is_refused_naming_them(system: ImportSystem) -> None:
    error = await refused(system, zipped(("a.txt", NC_FILE), ("b.txt", NC_FILE)), "two.zip")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "exactly one file; this one holds 2 (a.txt, b.txt)" in (error.details() or "")
    assert storage_files(system) == []


async def test_an_empty_zip_is_refused(system: ImportSystem) -> None:
    error = await refused(system, zipped(), "empty.zip")
    assert "holds 0 (none)" in (error.details() or "")
    assert storage_files(system) == []


async def test_an_encrypted_zip_is_refused(system: ImportSystem) -> None:
    error = await refused(system, encrypted(zipped(("ncvoter32.txt", NC_FILE))), "locked.zip")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "encrypted" in (error.details() or "")
    assert storage_files(system) == []


async def test_a_truncated_gzip_is_refused_as_damaged(system: ImportSystem) -> None:
    cut = gzip.compress(NC_FILE)[:-200]
    error = await refused(system, cut, "ncvoter32.txt.gz")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "gzip file is damaged" in (error.details() or "")
    assert storage_files(system) == []


async def test_a_damaged_zip_is_refused_as_damaged(system: ImportSystem) -> None:
    broken = zipped(("ncvoter32.txt", NC_FILE))[:100]
    error = await refused(system, broken, "ncvoter32.zip")
    assert "zip file is damaged" in (error.details() or "")
    assert storage_files(system) == []


async def test_the_file_inside_a_zip_must_have_the_formats_extension(system: ImportSystem) -> None:
    error = await refused(system, zipped(("voters.pdf", NC_FILE)), "voters.zip")
    assert 'Invalid file extension for format "ncsbe"' in (error.details() or "")
    assert storage_files(system) == []


async def test_a_zip_named_file_that_is_not_compressed_is_held_to_its_extension(system: ImportSystem) -> None:
    error = await refused(system, NC_FILE, "ncvoter32.zip")
    assert 'Invalid file extension for format "ncsbe"' in (error.details() or "")


@pytest.fixture
async def small_limit_system(settings: Settings, tmp_path: Path) -> AsyncIterator[ImportSystem]:
    async for s in start_system(settings.with_overrides(upload_max_bytes=1024 * 1024), tmp_path):
        yield s


async def test_a_zip_bomb_stops_at_the_upload_size_limit(small_limit_system: ImportSystem) -> None:
    bomb = gzip.compress(b"\t" * (8 * 1024 * 1024))  # 8 KiB on the wire, 8 MiB inflated
    assert len(bomb) < 1024 * 1024
    error = await refused(small_limit_system, bomb, "ncvoter32.txt.gz")
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "inflates to more than the 1048576 byte limit" in (error.details() or "")
    assert storage_files(small_limit_system) == []


async def test_a_gzipped_tar_is_refused_with_the_reason(system: ImportSystem) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        entry = tarfile.TarInfo("ncvoter32.txt")
        entry.size = len(NC_FILE)
        tar.addfile(entry, io.BytesIO(NC_FILE))
    error = await refused(system, archive.getvalue(), "ncvoter32.tar.gz")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "holds a tar archive" in (error.details() or "")
    assert storage_files(system) == []
