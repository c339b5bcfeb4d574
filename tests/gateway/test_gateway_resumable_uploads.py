"""Resumable uploads over tus 1.0 through the gateway, the real importer and coordinator, PostgreSQL:
a file sent in pieces (one cut short by a dropped connection) and then imported by its uploadId."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import shutil
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import bearer, upload_form, wait_for_status
from tus_client import TUS, UPLOADS, create, import_voters, metadata, patch
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa_importer.server import ImporterApp

NC_FILE = encode(ncsbe_lines(sample_voters(30, seed=21)))


async def offset_of(client: TestClient, token: str, location: str) -> int:
    response = await client.head(location, headers={**bearer(token), **TUS})
    assert response.status == 200
    return int(response.headers["Upload-Offset"])


async def send_half_and_drop(client: TestClient, token: str, location: str, data: bytes) -> None:
    """A PATCH whose connection drops after half its body, as on a flaky office network."""
    _, writer = await asyncio.open_connection(client.host, client.port)
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {client.host}\r\nAuthorization: Bearer {token}\r\n"
        "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    writer.write(head.encode() + data[: len(data) // 2])
    await writer.drain()
    offsets: list[int] = []

    async def half_arrived() -> bool:
        offsets.append(await offset_of(client, token, location))
        return offsets[-1] == len(data) // 2

    for _ in range(100):  # at most ~5 s
        if await half_arrived():
            break
        await asyncio.sleep(0.05)
    writer.close()
    await writer.wait_closed()
    assert offsets[-1] == len(data) // 2


async def test_options_advertise_the_tus_version_extensions_and_limits(
    import_client: TestClient, admin_token: str
) -> None:
    response = await import_client.options(UPLOADS, headers=bearer(admin_token))
    assert response.status == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert (
        response.headers["Tus-Extension"] == "creation,creation-with-upload,termination,expiration,checksum"
    )
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256,md5"
    assert response.headers["Tus-Max-Size"] == str(5 * 1024**3)


async def test_creating_an_upload_answers_its_location_and_expiry(
    import_client: TestClient, admin_token: str
) -> None:
    headers = {
        **bearer(admin_token),
        **TUS,
        "Upload-Length": "1234",
        "Upload-Metadata": metadata(filename="a.txt"),
    }
    response = await import_client.post(UPLOADS, headers=headers)
    body = await response.json()
    assert response.status == 201
    assert response.headers["Location"] == f"{UPLOADS}/{body['uploadId']}"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Upload-Expires"].endswith(" GMT")
    assert (body["filename"], body["length"], body["offset"], body["complete"]) == ("a.txt", 1234, 0, False)


async def test_head_tells_where_to_send_from(import_client: TestClient, admin_token: str) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    assert (await patch(import_client, admin_token, location, 0, NC_FILE[:700])).status == 204
    response = await import_client.head(location, headers={**bearer(admin_token), **TUS})
    assert (response.headers["Upload-Offset"], response.headers["Upload-Length"]) == (
        "700",
        str(len(NC_FILE)),
    )
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_file_sent_in_pieces_imports_by_its_upload_id(
    import_client: TestClient, admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    middle = len(NC_FILE) // 2
    first = await patch(import_client, admin_token, location, 0, NC_FILE[:middle])
    assert (first.status, first.headers["Upload-Offset"]) == (204, str(middle))
    second = await patch(import_client, admin_token, location, middle, NC_FILE[middle:])
    assert second.headers["Upload-Offset"] == str(len(NC_FILE))
    response = await import_voters(import_client, admin_token, location.rsplit("/", 1)[1])
    body = await response.json()
    assert response.status == 202, body
    assert body["sha256"] == hashlib.sha256(NC_FILE).hexdigest()
    job = await wait_for_status(import_client, admin_token, body["jobId"], "completed")
    assert job["processedItems"] == 30


async def test_a_dropped_connection_keeps_what_arrived_and_the_rest_completes_the_file(
    import_client: TestClient, admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    await send_half_and_drop(import_client, admin_token, location, NC_FILE)
    half = len(NC_FILE) // 2
    statuses = []
    for _ in range(100):  # the importer may still be letting go of the dropped request (~5 s)
        statuses.append((await patch(import_client, admin_token, location, half, NC_FILE[half:])).status)
        if statuses[-1] != 409:
            break
        await asyncio.sleep(0.05)
    assert statuses[-1] == 204, statuses
    response = await import_voters(import_client, admin_token, location.rsplit("/", 1)[1])
    job = await wait_for_status(import_client, admin_token, (await response.json())["jobId"], "completed")
    assert (job["processedItems"], job["failedItems"]) == (30, 0)


async def test_a_piece_at_the_wrong_offset_is_a_409(import_client: TestClient, admin_token: str) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    response = await patch(import_client, admin_token, location, 10, NC_FILE[10:20])
    body = await response.json()
    assert (response.status, body["field"]) == (409, "Upload-Offset")
    assert "is not the upload's offset 0" in body["error"]
    assert response.headers["Tus-Resumable"] == "1.0.0"


async def test_a_piece_whose_checksum_does_not_match_is_a_460_and_kept_nowhere(
    import_client: TestClient, admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    response = await patch(
        import_client, admin_token, location, 0, NC_FILE[:500], **{"Upload-Checksum": f"sha1 {wrong}"}
    )
    assert response.status == 460
    assert await offset_of(import_client, admin_token, location) == 0


async def test_a_piece_with_its_checksum_is_kept(import_client: TestClient, admin_token: str) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    digest = base64.b64encode(hashlib.sha256(NC_FILE[:500]).digest()).decode()
    response = await patch(
        import_client, admin_token, location, 0, NC_FILE[:500], **{"Upload-Checksum": f"sha256 {digest}"}
    )
    assert (response.status, response.headers["Upload-Offset"]) == (204, "500")


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ({"Content-Type": "text/plain"}, 415, None),
        ({"Upload-Offset": "-1"}, 400, "Upload-Offset"),
        ({"Upload-Offset": "１"}, 400, "Upload-Offset"),
        ({"Upload-Checksum": "sha1"}, 400, "Upload-Checksum"),
        ({"Upload-Checksum": "crc32 AAAA"}, 400, "Upload-Checksum"),
        ({"Tus-Resumable": "0.2.2"}, 412, None),
    ],
)
async def test_a_malformed_piece_is_refused_and_names_the_header(
    import_client: TestClient, admin_token: str, headers: dict[str, str], status: int, field: str | None
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    response = await patch(import_client, admin_token, location, 0, b"abc", **headers)
    body: dict[str, Any] = await response.json()
    assert (response.status, body.get("field")) == (status, field), body
    assert await offset_of(import_client, admin_token, location) == 0


async def test_an_unsupported_version_is_told_the_one_spoken(
    import_client: TestClient, admin_token: str
) -> None:
    headers = {**bearer(admin_token), "Tus-Resumable": "2.0.0", "Upload-Length": "10"}
    response = await import_client.post(UPLOADS, headers=headers)
    assert (response.status, response.headers["Tus-Version"]) == (412, "1.0.0")


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ({}, 400, "Upload-Length"),
        ({"Upload-Length": "ten"}, 400, "Upload-Length"),
        ({"Upload-Length": str(6 * 1024**3)}, 413, "Upload-Length"),
        ({"Upload-Defer-Length": "1"}, 400, "Upload-Defer-Length"),
        ({"Upload-Length": "10", "Upload-Metadata": "filename not-base64!"}, 400, "Upload-Metadata"),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(filename="a\x01b")}, 400, "filename"),
    ],
)
async def test_a_malformed_creation_is_refused_and_names_the_header(
    import_client: TestClient, admin_token: str, headers: dict[str, str], status: int, field: str
) -> None:
    response = await import_client.post(UPLOADS, headers={**bearer(admin_token), **TUS, **headers})
    body = await response.json()
    assert (response.status, body.get("field")) == (status, field), body


async def test_a_deleted_upload_is_gone(import_client: TestClient, admin_token: str) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    deleted = await import_client.delete(location, headers={**bearer(admin_token), **TUS})
    assert deleted.status == 204
    response = await import_client.head(location, headers={**bearer(admin_token), **TUS})
    assert response.status == 404


async def test_get_shows_the_upload_and_once_imported_its_job(
    import_client: TestClient, admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    await patch(import_client, admin_token, location, 0, NC_FILE)
    job_id = (await (await import_voters(import_client, admin_token, location.rsplit("/", 1)[1])).json())[
        "jobId"
    ]
    body = await (await import_client.get(location, headers=bearer(admin_token))).json()
    assert (body["jobId"], body["complete"], body["expiresAt"]) == (job_id, True, None)
    again = await import_voters(import_client, admin_token, body["uploadId"])
    assert again.status == 409
    assert f"was imported by job {job_id}" in (await again.json())["error"]


async def test_an_incomplete_upload_cannot_be_imported(import_client: TestClient, admin_token: str) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    await patch(import_client, admin_token, location, 0, NC_FILE[:100])
    response = await import_voters(import_client, admin_token, location.rsplit("/", 1)[1])
    body = await response.json()
    assert (response.status, body["field"]) == (400, "uploadId"), body
    assert "is not complete: 100 of its" in body["error"]


async def test_a_form_with_a_file_and_an_upload_id_is_refused(
    import_client: TestClient, admin_token: str
) -> None:
    form = upload_form(
        "ncvoter32.txt", NC_FILE, before={"uploadId": "c00000000000000000000000", "format": "ncsbe"}
    )
    response = await import_client.post("/api/v1/voters/import", data=form, headers=bearer(admin_token))
    body = await response.json()
    assert (response.status, body["field"]) == (400, "uploadId")


async def test_a_parcel_layer_sent_resumably_imports_by_its_upload_id(
    import_client: TestClient, admin_token: str
) -> None:
    layer = b"APN,SITUS,SITUS_CITY,SITUS_ZIP,LAT,LON\n100-1,10 OAK ST,DURHAM,27701,35.99,-78.90\n"
    location = await create(import_client, admin_token, len(layer), "parcels.csv")
    await patch(import_client, admin_token, location, 0, layer)
    form = upload_form(None, before={"uploadId": location.rsplit("/", 1)[1]})
    response = await import_client.post("/api/v1/gis/parcels/import", data=form, headers=bearer(admin_token))
    body = await response.json()
    assert response.status == 202, body
    job = await wait_for_status(import_client, admin_token, body["jobId"], "completed")
    assert job["processedItems"] == 1


async def test_an_upload_the_disk_cannot_hold_is_a_503_that_says_so(
    import_client: TestClient, admin_token: str, importer_app: ImporterApp
) -> None:
    store = importer_app.service.store
    store.directory.mkdir(parents=True, exist_ok=True)
    store.min_free_bytes = shutil.disk_usage(store.directory).free + 1024**3
    headers = {**bearer(admin_token), **TUS, "Upload-Length": str(len(NC_FILE))}
    response = await import_client.post(UPLOADS, headers=headers)
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["error"].startswith("Upload storage is nearly full:")


async def test_a_viewer_cannot_upload(import_client: TestClient, viewer_token: str) -> None:
    headers = {**bearer(viewer_token), **TUS, "Upload-Length": "10"}
    assert (await import_client.post(UPLOADS, headers=headers)).status == 403


async def test_an_unknown_upload_is_a_404(import_client: TestClient, admin_token: str) -> None:
    response = await patch(import_client, admin_token, f"{UPLOADS}/c00000000000000000000000", 0, b"x")
    assert response.status == 404


async def test_a_form_that_is_not_utf8_is_refused(import_client: TestClient, admin_token: str) -> None:
    headers = {**bearer(admin_token), "Content-Type": "application/x-www-form-urlencoded"}
    response = await import_client.post(
        "/api/v1/voters/import", data=b"uploadId=%FF&format=ncsbe", headers=headers
    )
    assert (response.status, (await response.json())["error"]) == (400, "The form must be UTF-8 text")


async def test_a_form_without_a_file_or_an_upload_id_is_no_file(
    import_client: TestClient, admin_token: str
) -> None:
    form = upload_form(None, before={"format": "ncsbe"})
    response = await import_client.post("/api/v1/voters/import", data=form, headers=bearer(admin_token))
    assert (response.status, (await response.json())["error"]) == (400, "No file provided")


HOSTILE_HEADERS = [
    "",
    " ",
    "-1",
    "1e3",
    "0x10",
    "9" * 30,
    "１２",
    "\t7",
    "abc",
    "sha1 ",
    "sha1 !!!",
    "md5 AAAA",
    "1, 2",
]
TUS_HEADERS = ["Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Checksum", "Tus-Resumable"]


@pytest.mark.parametrize("seed", range(4))
async def test_hostile_tus_headers_get_json_answers(
    import_client: TestClient, admin_token: str, seed: int
) -> None:
    rng = random.Random(seed)
    location = await create(import_client, admin_token, 50)
    for _ in range(25):
        headers = {name: rng.choice(HOSTILE_HEADERS) for name in rng.sample(TUS_HEADERS, rng.randint(1, 4))}
        headers |= {**bearer(admin_token), "Content-Type": "application/offset+octet-stream"}
        method, path = rng.choice([("POST", UPLOADS), ("PATCH", location), ("HEAD", location)])
        response = await import_client.request(method, path, headers=headers, data=b"x" * rng.randint(0, 3))
        assert response.status in (200, 201, 204, 400, 409, 412, 413, 460), (method, headers, response.status)
        if method != "HEAD" and response.status >= 400:
            assert "error" in await response.json()


async def test_a_replayed_import_with_its_idempotency_key_answers_the_first_job(
    import_client: TestClient, admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    await patch(import_client, admin_token, location, 0, NC_FILE)
    upload_id = location.rsplit("/", 1)[1]
    form = {"uploadId": upload_id, "format": "ncsbe"}
    headers = {**bearer(admin_token), "Idempotency-Key": "import-1"}
    first = await import_client.post("/api/v1/voters/import", data=form, headers=headers)
    again = await import_client.post("/api/v1/voters/import", data=form, headers=headers)
    first_body, again_body = await first.json(), await again.json()
    assert (first.status, again.status) == (202, 200)
    assert (again_body["jobId"], again_body["sha256"]) == (first_body["jobId"], first_body["sha256"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("OPTIONS", UPLOADS), ("POST", UPLOADS), ("HEAD", f"{UPLOADS}/c00000000000000000000000"),
     ("PATCH", f"{UPLOADS}/c00000000000000000000000"), ("DELETE", f"{UPLOADS}/c00000000000000000000000"),
     ("GET", f"{UPLOADS}/c00000000000000000000000"), ("GET", UPLOADS)],
)  # fmt: skip
async def test_every_upload_route_needs_a_token(import_client: TestClient, method: str, path: str) -> None:
    response = await import_client.request(method, path, headers={**TUS, "Upload-Length": "10"})
    assert response.status == 401
