"""A tus 1.0 client's calls, for the gateway's resumable upload tests."""

from __future__ import annotations

import base64

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from gateway_helpers import bearer, upload_form

UPLOADS = "/api/v1/uploads"
TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


async def create(client: TestClient, token: str, length: int, filename: str = "ncvoter32.txt") -> str:
    """A new upload's location."""
    headers = {
        **bearer(token),
        **TUS,
        "Upload-Length": str(length),
        "Upload-Metadata": metadata(filename=filename),
    }
    response = await client.post(UPLOADS, headers=headers)
    assert response.status == 201, await response.text()
    return response.headers["Location"]


async def patch(
    client: TestClient, token: str, location: str, offset: int, data: bytes, **headers: str
) -> ClientResponse:
    sent = {
        **bearer(token),
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        **headers,
    }
    return await client.patch(location, data=data, headers=sent)


async def import_voters(client: TestClient, token: str, upload_id: str, **fields: str) -> ClientResponse:
    form = upload_form(None, before={"uploadId": upload_id, "format": "ncsbe", **fields})
    return await client.post("/api/v1/voters/import", data=form, headers=bearer(token))
