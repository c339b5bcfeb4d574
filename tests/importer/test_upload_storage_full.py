"""A full upload disk is the storage's failure, not the file's: the caller is told to try again
later (UNAVAILABLE, the gateway's 503) and nothing is left in storage. ``/dev/full`` stands in for
the disk: every write to it fails with ENOSPC. Before that, uploads are refused while they would
leave less than ``UPLOAD_MIN_FREE_BYTES`` free; the tests move that reserve around the disk's free
space, with a GiB of margin for whatever else writes meanwhile."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from importer_system import ImportSystem
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.importer.v1 import importer_pb2 as ipb
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


GIB = 1024**3


def keep_free(system: ImportSystem, more_than_free_by: int) -> None:
    """Set the upload store's reserve this far above the disk's free space (below it if negative)."""
    directory = Path(system.settings.upload_dir)
    directory.mkdir(parents=True, exist_ok=True)
    system.importer.service.store.min_free_bytes = shutil.disk_usage(directory).free + more_than_free_by


async def create(system: ImportSystem, length: int) -> str:
    request = ipb.CreateResumableUploadRequest(filename="ncvoter32.txt", length=length)
    return (await system.uploads.CreateResumableUpload(request)).id


async def append(system: ImportSystem, upload_id: str, data: bytes) -> ipb.ResumableUpload:
    async def messages():  # type: ignore[no-untyped-def]
        yield ipb.AppendChunk(header=ipb.AppendHeader(id=upload_id, offset=0))
        yield ipb.AppendChunk(data=data)

    return await system.uploads.AppendResumableUpload(messages())


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


async def test_a_resumable_upload_the_disk_cannot_hold_is_refused_before_any_byte_is_sent(
    system: ImportSystem,
) -> None:
    keep_free(system, -GIB)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(system, 2 * GIB)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "Upload storage is nearly full" in (info.value.details() or "")
    assert "after these 2,048 MiB" in (info.value.details() or "")
    assert list(Path(system.settings.upload_dir).iterdir()) == []


async def test_an_append_is_refused_once_the_room_it_needs_is_gone_and_goes_through_once_freed(
    system: ImportSystem,
) -> None:
    upload_id = await create(system, len(NC_FILE))
    keep_free(system, GIB)  # other files took the room since the upload was created
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await append(system, upload_id, NC_FILE)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    system.importer.service.store.min_free_bytes = 0
    assert (await append(system, upload_id, NC_FILE)).offset == len(NC_FILE)


async def test_a_file_upload_is_refused_while_the_disk_is_nearly_full(system: ImportSystem) -> None:
    keep_free(system, GIB)
    error = await upload_error(system, NC_FILE, "ncvoter32.txt")
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "Upload storage is nearly full" in (error.details() or "")
    assert list(Path(system.settings.upload_dir).iterdir()) == []


async def test_a_file_upload_stops_when_the_disk_fills_up_while_it_arrives(
    system: ImportSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "ROOM_CHECK_BYTES", 4096)  # look at the disk every 4 KiB
    store = system.importer.service.store
    free_before = store.min_free_bytes
    calls = 0

    def filling_up(more_bytes: int) -> None:
        nonlocal calls
        calls += 1
        store.min_free_bytes = free_before if calls == 1 else shutil.disk_usage(store.directory).free + GIB
        storage.UploadStore.ensure_room(store, more_bytes)

    monkeypatch.setattr(store, "ensure_room", filling_up)
    error = await upload_error(system, NC_FILE, "ncvoter32.txt")
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert calls >= 2  # once before the first byte, then while it arrived
    assert list(Path(system.settings.upload_dir).iterdir()) == []
