"""Hostile requests, seeded, to the importer's RPCs (uploads and parcel lists): each gets an answer
or a status naming the caller's mistake, never INTERNAL, and a refused upload leaves no file."""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import grpc
import pytest
from importer_system import ImportSystem

from cocoa.importer.v1 import importer_pb2 as ipb

CALLERS_MISTAKES = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
}
TEXT = ["", "voter_import", "parcel_import", "ncsbe", "auto", "csv_mapped", "geojson", "csv", "full",
        "incremental", "x" * 400, "a\x00b", "../../etc/passwd", "voters.txt", "p.geojson", "ü" * 50,
        "c" * 33, "' OR 1=1 --"]  # fmt: skip
OPTIONS = ["", "{", "[]", "null", json.dumps({"mapping": {"first_name": "a"}}), json.dumps({"mapping": []}),
           json.dumps({"mapping": {"x": 1}}), "[" * 50_000, json.dumps({"defaultState": "\u0000"})]  # fmt: skip
BODIES = [b"", b"first_name,last_name\nA,B\n", b'{"type": "FeatureCollection", "features": []}', b"\xff\xfe\x00",
          b"<html></html>", b"APN,ADDRESS\n1,2 MAIN ST\n"]  # fmt: skip


def header(rng: random.Random) -> ipb.UploadHeader:
    return ipb.UploadHeader(
        kind=rng.choice(TEXT), filename=rng.choice(TEXT), format=rng.choice(TEXT),
        import_type=rng.choice(TEXT), options_json=rng.choice(OPTIONS), created_by_id=rng.choice(TEXT),
        idempotency_key=rng.choice(TEXT),
    )  # fmt: skip


def chunks(rng: random.Random) -> list[ipb.UploadChunk]:
    body = rng.choice(BODIES)
    order = rng.randrange(4)
    if order == 0:  # no header at all
        return [ipb.UploadChunk(data=body)]
    parts = [ipb.UploadChunk(header=header(rng)), ipb.UploadChunk(data=body)]
    if order == 2:  # a completing header after the data
        parts.append(ipb.UploadChunk(header=header(rng)))
    if order == 3:  # data before the header
        parts.reverse()
    return parts


async def streamed(parts: list[Any]) -> AsyncIterator[Any]:
    for part in parts:
        yield part


async def answer(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, Any]:
    """(status, details, response) of a call."""
    try:
        return grpc.StatusCode.OK, "", await call
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or "", None


async def status_of_upload(system: ImportSystem, parts: list[ipb.UploadChunk]) -> tuple[grpc.StatusCode, str]:
    code, details, _ = await answer(system.uploads.Upload(streamed(parts), timeout=20))
    return code, details


@pytest.mark.parametrize("seed", range(4))
async def test_hostile_uploads_get_answers_or_the_callers_mistake(system: ImportSystem, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        parts = chunks(rng)
        code, details = await status_of_upload(system, parts)
        assert code in CALLERS_MISTAKES, f"{code}: {details} for {parts!r:.400}"
    leftovers = [p for p in Path(system.settings.upload_dir).glob("*") if p.name.endswith(".part")]
    assert leftovers == []


@pytest.mark.parametrize("seed", range(2))
async def test_hostile_parcel_lists_get_answers_or_the_callers_mistake(
    system: ImportSystem, seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        request = ipb.ListParcelsRequest(
            search=rng.choice(TEXT), apn=rng.choice(TEXT), zip_code=rng.choice(TEXT),
            limit=rng.choice([0, -1, 1, 500, 2**31 - 1]), offset=rng.choice([0, -1, 2**31 - 1]),
        )  # fmt: skip
        try:
            await system.uploads.ListParcels(request, timeout=10)
            code, details = grpc.StatusCode.OK, ""
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details() or ""
        assert code in CALLERS_MISTAKES, f"{code}: {details} for {request!r:.300}"


@pytest.mark.parametrize("seed", range(2))
async def test_hostile_voter_lists_get_answers_or_the_callers_mistake(
    system: ImportSystem, seed: int
) -> None:
    rng = random.Random(seed)
    household_ids = ["", "1", "-1", "9" * 30, "1e3", " 7 ", "١٢"]
    flags = ["", "any", "po_box", "removed", "bad", "ANY"]
    for _ in range(40):
        request = ipb.ListVotersRequest(
            search=rng.choice(TEXT), household_id=rng.choice(household_ids), source=rng.choice(TEXT),
            address_flag=rng.choice(flags), zip_code=rng.choice(TEXT),
            limit=rng.choice([0, -1, 1, 500, 2**31 - 1]), offset=rng.choice([0, -1, 2**31 - 1]),
        )  # fmt: skip
        code, details, _ = await answer(system.uploads.ListVoters(request, timeout=10))
        assert code in CALLERS_MISTAKES, f"{code}: {details} for {request!r:.300}"


def damaged_archive(rng: random.Random) -> tuple[str, bytes]:
    """A gzip or zip of a small contact list, with bytes flipped or cut off."""
    content = b"first_name,last_name\n" + b"".join(b"Ann,Lee%d\n" % i for i in range(200))
    if rng.random() < 0.5:
        name, data = "people.csv.gz", bytearray(gzip.compress(content))
    else:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as members:
            members.writestr("people.csv", content)
        name, data = "people.zip", bytearray(archive.getvalue())
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    if rng.random() < 0.3:
        data = data[: rng.randrange(2, len(data))]
    return name, bytes(data)


@pytest.mark.parametrize("seed", range(3))
async def test_damaged_archives_get_answers_or_the_callers_mistake(system: ImportSystem, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(30):
        name, data = damaged_archive(rng)
        head = ipb.UploadHeader(kind="voter_import", filename=name, format="simple_csv", import_type="full")
        parts = [ipb.UploadChunk(header=head), ipb.UploadChunk(data=data)]
        code, details = await status_of_upload(system, parts)
        assert code in CALLERS_MISTAKES, f"{code}: {details} for {name} {data[:80]!r}"
    leftovers = [p for p in Path(system.settings.upload_dir).glob("*") if p.name.endswith(".part")]
    assert leftovers == []


NUMBERS = [0, 1, -1, 7, 100, 2**31, 2**62, -(2**62), 5 * 1024**3, 5 * 1024**3 + 1]
ALGORITHMS = ["", "sha1", "sha256", "md5", "SHA1", "crc32", "x" * 300, "\u0000"]


async def append_status(system: ImportSystem, rng: random.Random, upload_id: str) -> grpc.StatusCode:
    header = ipb.AppendHeader(
        id=rng.choice([upload_id, upload_id, *TEXT]),
        offset=rng.choice(NUMBERS),
        checksum_algorithm=rng.choice(ALGORITHMS),
        checksum=rng.choice([b"", b"\x00" * 20, rng.randbytes(32)]),
    )
    parts = [ipb.AppendChunk(header=header), ipb.AppendChunk(data=rng.choice(BODIES))]
    if rng.random() < 0.2:
        parts.reverse()  # bytes before the header
    code, _, _ = await answer(system.uploads.AppendResumableUpload(streamed(parts), timeout=20))
    return code


@pytest.mark.parametrize("seed", range(3))
async def test_hostile_resumable_uploads_get_answers_or_the_callers_mistake(
    system: ImportSystem, seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        request = ipb.CreateResumableUploadRequest(
            filename=rng.choice(TEXT), length=rng.choice(NUMBERS), created_by_id=rng.choice(TEXT)
        )
        code, details, created = await answer(system.uploads.CreateResumableUpload(request))
        assert code in CALLERS_MISTAKES, f"{code}: {details} for {request!r:.300}"
        if created is None:
            continue
        assert await append_status(system, rng, created.id) in CALLERS_MISTAKES | {grpc.StatusCode.DATA_LOSS}
        get = ipb.GetResumableUploadRequest(id=rng.choice([created.id, *TEXT]))
        code, details, _ = await answer(system.uploads.GetResumableUpload(get))
        assert code in CALLERS_MISTAKES, f"{code}: {details}"
