"""GET /api/v1/me: who the token belongs to."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from gateway_helpers import bearer


async def test_me_names_the_tokens_user_and_role(
    client: TestClient, admin_token: str, admin: tuple[str, str]
) -> None:
    response = await client.get("/api/v1/me", headers=bearer(admin_token))
    body = await response.json()
    assert body == {
        "success": True,
        "user": {"id": admin[0], "email": "admin@example.com", "name": "Admin User", "role": "admin"},
    }
    assert response.headers["Cache-Control"] == "no-store"


async def test_me_tells_a_viewer_its_role(client: TestClient, viewer_token: str) -> None:
    body = await (await client.get("/api/v1/me", headers=bearer(viewer_token))).json()
    assert body["user"]["role"] == "viewer"


async def test_me_needs_a_token(client: TestClient) -> None:
    assert (await client.get("/api/v1/me")).status == 401
