"""A sender may give the file's sha256 with the upload: a file that changed on the way is refused
with both checksums and nothing is kept. Real coordinator and importer, PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import grpc
import pytest
from importer_system import ImportSystem
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb

NC_FILE = encode(ncsbe_lines(sample_voters(20, seed=6)))
SHA256 = hashlib.sha256(NC_FILE).hexdigest()


def stored(system: ImportSystem) -> list[Path]:
    directory = Path(system.settings.upload_dir)
    return list(directory.iterdir()) if directory.exists() else []


async def refused(system: ImportSystem, **kwargs: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(NC_FILE, filename="ncvoter32.txt", format="ncsbe", **kwargs)  # type: ignore[arg-type]
    return info.value


async def test_an_upload_with_its_sha256_is_accepted_and_imported(system: ImportSystem) -> None:
    accepted = await system.upload(NC_FILE, filename="ncvoter32.txt", format="ncsbe", sha256=SHA256)
    job = await system.wait(accepted.job_id, (cpb.JOB_STATUS_COMPLETED,))
    assert (accepted.sha256, job.processed_items) == (SHA256, 20)


async def test_the_expected_sha256_may_be_in_capitals(system: ImportSystem) -> None:
    accepted = await system.upload(NC_FILE, filename="ncvoter32.txt", format="ncsbe", sha256=SHA256.upper())
    assert accepted.sha256 == SHA256


async def test_a_file_that_changed_on_the_way_is_refused_with_both_checksums(system: ImportSystem) -> None:
    expected = hashlib.sha256(NC_FILE + b"\n").hexdigest()
    error = await refused(system, sha256=expected)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"has sha256 {SHA256}, not the {expected} expected" in (error.details() or "")
    assert stored(system) == []


async def test_a_sha256_sent_after_the_file_is_checked_too(system: ImportSystem) -> None:
    error = await refused(system, trailer=ipb.UploadHeader(sha256="0" * 64))
    assert "not the " + "0" * 64 + " expected" in (error.details() or "")
    assert stored(system) == []


async def test_a_malformed_sha256_is_refused_before_the_file_is_stored(system: ImportSystem) -> None:
    error = await refused(system, sha256="not-a-checksum")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sha256 must be 64 hexadecimal digits" in (error.details() or "")
    assert stored(system) == []
