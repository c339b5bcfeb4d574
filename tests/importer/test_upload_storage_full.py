"""A full upload disk is the storage's failure, not the file's: the caller is told to try again
later (UNAVAILABLE, the gateway's 503) and nothing is left in storage. ``/dev/full`` stands in for
the disk: every write to it fails with ENOSPC."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from importer_system import ImportSystem
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa_importer import storage

UPLOAD_ID = "c" + "0" * 24
NC_FILE = encode(ncsbe_lines(sample_voters(20, seed=8)))


@pytest.fixture
def full_disk_at(system: ImportSystem, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Make the next upload's file ``name`` (in storage) a link to /dev/full."""
    monkeypatch.setattr(storage, "new_id", lambda: UPLOAD_ID)
    directory = Path(system.settings.upload_dir)

    def at(name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).symlink_to("/dev/full")
        return directory

    return at


async def upload_error(system: ImportSystem, data: bytes, filename: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(data, filename=filename, format="ncsbe")
    return info.value


async def test_a_full_disk_while_receiving_is_unavailable_with_the_reason(
    system: ImportSystem, full_disk_at: Callable[[str], Path]
) -> None:
    directory = full_disk_at(f"{UPLOAD_ID}.part")
    error = await upload_error(system, NC_FILE, "ncvoter32.txt")
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "Upload storage is full" in (error.details() or "")
    assert list(directory.iterdir()) == []


async def test_a_full_disk_while_inflating_is_unavailable_not_a_damaged_file(
    system: ImportSystem, full_disk_at: Callable[[str], Path]
) -> None:
    directory = full_disk_at(f"{UPLOAD_ID}.inflated.part")
    error = await upload_error(system, gzip.compress(NC_FILE), "ncvoter32.txt.gz")
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "Upload storage is full" in (error.details() or "")
    assert list(directory.iterdir()) == []
