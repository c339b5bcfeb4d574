"""An upload belongs to the admin who created it, and each admin holds only so many unfinished ones:
through the gateway, the real importer and coordinator, PostgreSQL."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, add_user, bearer
from tus_client import TUS, UPLOADS, create, import_voters, patch
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa_common.settings import Settings

NC_FILE = encode(ncsbe_lines(sample_voters(10, seed=8)))
DEFAULT_CAP = Settings().upload_max_open_per_user


@pytest.fixture
async def other_admin_token(sessions: Sessions) -> str:
    return (await add_user(sessions, "admin", email="other-admin@example.com"))[1]


async def test_another_admins_upload_is_a_404_on_every_route(
    import_client: TestClient, admin_token: str, other_admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    other = {**bearer(other_admin_token), **TUS}
    assert (await import_client.head(location, headers=other)).status == 404
    assert (await import_client.get(location, headers=other)).status == 404
    assert (await patch(import_client, other_admin_token, location, 0, NC_FILE)).status == 404
    assert (await import_client.delete(location, headers=other)).status == 404
    mine = await import_client.get(location, headers=bearer(admin_token))
    assert ((await mine.json())["offset"], (await mine.json())["length"]) == (0, len(NC_FILE))


async def test_another_admin_cannot_import_an_upload(
    import_client: TestClient, admin_token: str, other_admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE))
    await patch(import_client, admin_token, location, 0, NC_FILE)
    response = await import_voters(import_client, other_admin_token, location.rsplit("/", 1)[1])
    body = await response.json()
    assert (response.status, body["field"]) == (404, "uploadId"), body
    assert (await import_voters(import_client, admin_token, location.rsplit("/", 1)[1])).status == 202


async def test_an_admin_at_the_cap_is_told_to_finish_or_delete_an_upload_first(
    import_client: TestClient, admin_token: str, other_admin_token: str
) -> None:
    for _ in range(DEFAULT_CAP):
        await create(import_client, admin_token, len(NC_FILE))
    headers = {**bearer(admin_token), **TUS, "Upload-Length": str(len(NC_FILE))}
    response = await import_client.post(UPLOADS, headers=headers)
    assert response.status == 429
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert (await response.json())["error"].startswith(
        f"You have {DEFAULT_CAP} unfinished uploads, the most one user may hold ({DEFAULT_CAP})"
    )
    assert await create(import_client, other_admin_token, len(NC_FILE))


async def test_the_list_shows_the_callers_unfinished_uploads(
    import_client: TestClient, admin_token: str, other_admin_token: str
) -> None:
    first = await create(import_client, admin_token, len(NC_FILE))
    await create(import_client, other_admin_token, len(NC_FILE))
    second = await create(import_client, admin_token, len(NC_FILE), "second.txt")
    await patch(import_client, admin_token, second, 0, NC_FILE[:7])
    response = await import_client.get(UPLOADS, headers=bearer(admin_token))
    body = await response.json()
    assert (response.status, response.headers["Cache-Control"]) == (200, "no-store")
    assert [u["location"] for u in body["uploads"]] == [second, first]
    assert (body["count"], body["maxOpen"], body["uploads"][0]["offset"]) == (2, DEFAULT_CAP, 7)
    assert body["uploads"][0]["filename"] == "second.txt"


async def test_a_viewer_cannot_list_uploads(import_client: TestClient, viewer_token: str) -> None:
    assert (await import_client.get(UPLOADS, headers=bearer(viewer_token))).status == 403


async def test_creating_and_deleting_an_upload_are_audited(
    import_client: TestClient, admin_token: str
) -> None:
    location = await create(import_client, admin_token, len(NC_FILE), "county.txt")
    assert (await import_client.delete(location, headers={**bearer(admin_token), **TUS})).status == 204
    response = await import_client.get("/api/v1/audit-logs?resource=upload", headers=bearer(admin_token))
    entries = (await response.json())["entries"]
    upload_id = location.rsplit("/", 1)[1]
    assert [(e["action"], e["resourceId"]) for e in entries] == [
        ("delete_upload", upload_id),
        ("create_upload", upload_id),
    ]
    assert entries[1]["details"] == {"filename": "county.txt", "length": len(NC_FILE)}
