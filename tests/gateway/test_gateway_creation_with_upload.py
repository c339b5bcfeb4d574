"""tus creation-with-upload: the POST that creates an upload may carry its first piece. Through the
gateway, the real importer and coordinator, PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from gateway_helpers import bearer, wait_for_status
from tus_client import TUS, UPLOADS, import_voters, metadata, patch
from voterfiles import encode, ncsbe_lines, sample_voters

NC_FILE = encode(ncsbe_lines(sample_voters(20, seed=31)))
OFFSET_STREAM = {"Content-Type": "application/offset+octet-stream"}


async def create_with(client: TestClient, token: str, piece: bytes, **headers: str) -> ClientResponse:
    sent = {
        **bearer(token),
        **TUS,
        **OFFSET_STREAM,
        "Upload-Length": str(len(NC_FILE)),
        "Upload-Metadata": metadata(filename="ncvoter32.txt"),
        **headers,
    }
    return await client.post(UPLOADS, data=piece, headers=sent)


async def open_uploads(client: TestClient, token: str) -> list[dict]:
    return (await (await client.get(UPLOADS, headers=bearer(token))).json())["uploads"]


async def test_a_creation_carrying_a_first_piece_keeps_it_and_says_the_offset(
    import_client: TestClient, admin_token: str
) -> None:
    response = await create_with(import_client, admin_token, NC_FILE[:1000])
    body = await response.json()
    assert (response.status, response.headers["Upload-Offset"], body["offset"]) == (201, "1000", 1000)
    rest = await patch(import_client, admin_token, response.headers["Location"], 1000, NC_FILE[1000:])
    assert (rest.status, rest.headers["Upload-Offset"]) == (204, str(len(NC_FILE)))


async def test_a_file_sent_whole_in_its_creation_imports(import_client: TestClient, admin_token: str) -> None:
    response = await create_with(import_client, admin_token, NC_FILE)
    assert (await response.json())["complete"] is True
    imported = await import_voters(import_client, admin_token, response.headers["Location"].rsplit("/", 1)[1])
    job = await wait_for_status(import_client, admin_token, (await imported.json())["jobId"], "completed")
    assert job["processedItems"] == 20


async def test_a_first_piece_with_its_checksum_is_kept(import_client: TestClient, admin_token: str) -> None:
    digest = base64.b64encode(hashlib.sha1(NC_FILE[:500]).digest()).decode()
    response = await create_with(
        import_client, admin_token, NC_FILE[:500], **{"Upload-Checksum": f"sha1 {digest}"}
    )
    assert (response.status, response.headers["Upload-Offset"]) == (201, "500")


async def test_a_first_piece_whose_checksum_does_not_match_creates_nothing(
    import_client: TestClient, admin_token: str
) -> None:
    digest = base64.b64encode(hashlib.sha1(b"other bytes").digest()).decode()
    response = await create_with(
        import_client, admin_token, NC_FILE[:500], **{"Upload-Checksum": f"sha1 {digest}"}
    )
    assert response.status == 460
    assert await open_uploads(import_client, admin_token) == []


async def test_a_first_piece_longer_than_the_upload_creates_nothing(
    import_client: TestClient, admin_token: str
) -> None:
    response = await create_with(import_client, admin_token, NC_FILE + b"extra")
    assert response.status == 413
    assert await open_uploads(import_client, admin_token) == []


async def test_a_first_piece_of_another_type_is_a_415_and_creates_nothing(
    import_client: TestClient, admin_token: str
) -> None:
    response = await create_with(import_client, admin_token, NC_FILE[:100], **{"Content-Type": "text/plain"})
    assert response.status == 415
    assert await open_uploads(import_client, admin_token) == []


async def test_a_creation_whose_connection_drops_mid_piece_leaves_nothing(
    import_client: TestClient, admin_token: str
) -> None:
    _, writer = await asyncio.open_connection(import_client.host, import_client.port)
    head = (
        f"POST {UPLOADS} HTTP/1.1\r\nHost: {import_client.host}\r\nAuthorization: Bearer {admin_token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Length: {len(NC_FILE)}\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(NC_FILE)}\r\n\r\n"
    )
    writer.write(head.encode() + NC_FILE[: len(NC_FILE) // 2])
    await writer.drain()
    for _ in range(100):  # at most ~5 s: until the upload exists, half sent
        if [u["offset"] for u in await open_uploads(import_client, admin_token)] == [len(NC_FILE) // 2]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the first half of the piece never arrived")
    writer.close()
    await writer.wait_closed()
    for _ in range(100):  # at most ~5 s
        if not await open_uploads(import_client, admin_token):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the upload of a creation cut short was kept")
