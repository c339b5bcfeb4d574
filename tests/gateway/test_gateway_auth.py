"""Bearer tokens, roles and the token table."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp.test_utils import TestClient
from gateway_helpers import ClientFactory, Sessions, add_user, bearer
from sqlalchemy import select, update

from cocoa_common.ids import utcnow
from cocoa_common.models import ApiToken, User
from cocoa_common.settings import Settings
from cocoa_gateway.auth import hash_token
from cocoa_gateway.repository import GatewayRepository


async def test_missing_token_is_401_missing_token(client: TestClient) -> None:
    response = await client.get("/api/v1/jobs")
    assert response.status == 401
    assert (await response.json())["error"] == "Unauthorized: Missing token"


async def test_unknown_token_is_401_invalid_token(client: TestClient) -> None:
    response = await client.get("/api/v1/jobs", headers=bearer("cj_not-a-real-token"))
    assert response.status == 401
    assert (await response.json())["error"] == "Unauthorized: Invalid token"


async def test_non_bearer_authorization_is_401_invalid_token(client: TestClient, admin_token: str) -> None:
    response = await client.get("/api/v1/gis/households", headers={"Authorization": f"Basic {admin_token}"})
    assert response.status == 401
    assert await response.json() == {"error": "Unauthorized: Invalid token"}


async def test_expired_token_is_401_session_expired(client: TestClient, sessions: Sessions) -> None:
    _, token = await add_user(sessions, "admin", expires_at=utcnow() - timedelta(seconds=1))
    response = await client.get("/api/v1/jobs", headers=bearer(token))
    assert response.status == 401
    assert (await response.json())["error"] == "Unauthorized: Session expired"


async def test_revoked_token_is_401_invalid_token(client: TestClient, sessions: Sessions) -> None:
    _, token = await add_user(sessions, "admin")
    async with sessions.begin() as session:
        assert await GatewayRepository(session).revoke_token(hash_token(token))
    response = await client.get("/api/v1/jobs", headers=bearer(token))
    assert response.status == 401
    assert (await response.json())["error"] == "Unauthorized: Invalid token"


async def test_disabled_user_is_401_invalid_token(client: TestClient, sessions: Sessions) -> None:
    user_id, token = await add_user(sessions, "admin")
    async with sessions.begin() as session:
        await session.execute(update(User).where(User.id == user_id).values(disabled=True))
    response = await client.get("/api/v1/jobs", headers=bearer(token))
    assert response.status == 401


async def test_revocation_takes_effect_within_the_cache_ttl(
    make_client: ClientFactory, gateway_settings: Settings, sessions: Sessions
) -> None:
    client = await make_client(gateway_settings, token_cache_ttl_s=0.3)
    _, token = await add_user(sessions, "admin")
    assert (await client.get("/api/v1/jobs", headers=bearer(token))).status == 200
    async with sessions.begin() as session:
        await GatewayRepository(session).revoke_token(hash_token(token))
    await asyncio.sleep(0.4)
    assert (await client.get("/api/v1/jobs", headers=bearer(token))).status == 401


async def test_viewer_cannot_create_jobs(client: TestClient, viewer_token: str) -> None:
    response = await client.post(
        "/api/v1/jobs", json={"type": "geocoding", "data": {}}, headers=bearer(viewer_token)
    )
    assert response.status == 403
    assert await response.json() == {"success": False, "error": "Insufficient permissions"}


async def test_viewer_cannot_queue_household_geocoding(client: TestClient, viewer_token: str) -> None:
    response = await client.post("/api/v1/gis/households/geocode?city=Oakland", headers=bearer(viewer_token))
    assert response.status == 403
    assert await response.json() == {"error": "Insufficient permissions"}


async def test_viewer_can_list_jobs(client: TestClient, viewer_token: str) -> None:
    response = await client.get("/api/v1/jobs", headers=bearer(viewer_token))
    assert response.status == 200


async def test_tokens_are_stored_hashed(client: TestClient, sessions: Sessions) -> None:
    user_id, token = await add_user(sessions, "viewer")
    assert token.startswith("cj_")
    async with sessions() as session:
        stored = (
            await session.execute(select(ApiToken.token_hash).where(ApiToken.user_id == user_id))
        ).scalar_one()
    assert stored == hash_token(token)
    assert token not in stored
    assert len(stored) == 64


async def test_last_used_at_is_written_once_a_minute_at_most(client: TestClient, sessions: Sessions) -> None:
    user_id, token = await add_user(sessions, "viewer")
    await client.get("/api/v1/jobs", headers=bearer(token))
    async with sessions() as session:
        first = (
            await session.execute(select(ApiToken.last_used_at).where(ApiToken.user_id == user_id))
        ).scalar_one()
    await client.get("/api/v1/jobs", headers=bearer(token))
    async with sessions() as session:
        second = (
            await session.execute(select(ApiToken.last_used_at).where(ApiToken.user_id == user_id))
        ).scalar_one()
    assert first is not None
    assert second == first


async def test_health_routes_need_no_token(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
