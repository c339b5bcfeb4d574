"""GET /api/v1/tokens and DELETE /api/v1/tokens/{id}: owners (and admins) see live tokens and revoke
them, and a revoked token stops working at once. Real gateway, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from gateway_helpers import ClientFactory, Sessions, add_user, bearer

from cocoa_common.settings import Settings
from cocoa_gateway.auth import hash_token, issue_token
from cocoa_gateway.repository import GatewayRepository

TOKENS = "/api/v1/tokens"


async def second_token(sessions: Sessions, user_id: str, expires_at: datetime | None = None) -> str:
    async with sessions.begin() as session:
        return await issue_token(GatewayRepository(session), user_id, expires_at)


async def listed(client: TestClient, token: str, **query: str) -> list[dict[str, Any]]:
    response = await client.get(TOKENS, params=query, headers=bearer(token))
    assert response.status == 200, await response.text()
    return (await response.json())["tokens"]


async def test_a_user_sees_their_live_tokens_and_which_one_is_in_use(
    client: TestClient, sessions: Sessions, admin: tuple[str, str]
) -> None:
    user_id, token = admin
    await second_token(sessions, user_id)
    tokens = await listed(client, token)
    assert [t["current"] for t in tokens] == [False, True]  # newest first
    assert {t["userId"] for t in tokens} == {user_id}
    assert set(tokens[0]) == {"id", "userId", "createdAt", "expiresAt", "lastUsedAt", "current"}  # no secret


async def test_expired_and_revoked_tokens_are_not_listed(
    client: TestClient, sessions: Sessions, admin: tuple[str, str]
) -> None:
    user_id, token = admin
    await second_token(sessions, user_id, datetime.now(UTC) - timedelta(days=1))
    revoked = await second_token(sessions, user_id)
    async with sessions.begin() as session:
        await GatewayRepository(session).revoke_token(hash_token(revoked))
    assert [t["current"] for t in await listed(client, token)] == [True]


async def test_a_revoked_token_stops_working_at_once_despite_the_cache(
    make_client: ClientFactory, gateway_settings: Settings, sessions: Sessions, admin: tuple[str, str]
) -> None:
    client = await make_client(gateway_settings, token_cache_ttl_s=60.0)
    user_id, token = admin
    other = await second_token(sessions, user_id)
    assert (await client.get("/api/v1/me", headers=bearer(other))).status == 200  # now cached for 60 s
    [newest, _] = await listed(client, token)
    response = await client.delete(f"{TOKENS}/{newest['id']}", headers=bearer(token))
    assert (response.status, (await response.json())["message"]) == (200, "Token revoked")
    assert (await client.get("/api/v1/me", headers=bearer(other))).status == 401


async def test_a_user_may_revoke_the_token_they_are_using(client: TestClient, admin: tuple[str, str]) -> None:
    [current] = await listed(client, admin[1])
    assert (await client.delete(f"{TOKENS}/{current['id']}", headers=bearer(admin[1]))).status == 200
    assert (await client.get("/api/v1/me", headers=bearer(admin[1]))).status == 401


async def test_a_viewer_cannot_see_or_revoke_another_users_tokens(
    client: TestClient, sessions: Sessions, admin: tuple[str, str]
) -> None:
    _, viewer = await add_user(sessions, "viewer", email="v@example.com")
    [admins] = await listed(client, admin[1])
    assert (await client.get(TOKENS, params={"userId": admin[0]}, headers=bearer(viewer))).status == 403
    response = await client.delete(f"{TOKENS}/{admins['id']}", headers=bearer(viewer))
    assert (response.status, (await response.json())["error"]) == (404, "Token not found")
    assert (await client.get("/api/v1/me", headers=bearer(admin[1]))).status == 200


async def test_an_admin_revokes_another_users_token(
    client: TestClient, sessions: Sessions, admin: tuple[str, str]
) -> None:
    viewer_id, viewer = await add_user(sessions, "viewer", email="v@example.com")
    [theirs] = await listed(client, admin[1], userId=viewer_id)
    assert theirs["current"] is False
    assert (await client.delete(f"{TOKENS}/{theirs['id']}", headers=bearer(admin[1]))).status == 200
    assert (await client.get("/api/v1/me", headers=bearer(viewer))).status == 401


async def test_revoking_is_audited(client: TestClient, sessions: Sessions, admin: tuple[str, str]) -> None:
    user_id, token = admin
    await second_token(sessions, user_id)
    [newest, _] = await listed(client, token)
    await client.delete(f"{TOKENS}/{newest['id']}", headers=bearer(token))
    audit = await (await client.get("/api/v1/audit-logs?action=revoke_token", headers=bearer(token))).json()
    [entry] = audit["entries"]
    assert (entry["resource"], entry["resourceId"], entry["details"]) == (
        "token",
        newest["id"],
        {"userId": user_id},
    )


async def test_an_unknown_or_already_revoked_token_is_a_404(
    client: TestClient, sessions: Sessions, admin: tuple[str, str]
) -> None:
    user_id, token = admin
    await second_token(sessions, user_id)
    [newest, _] = await listed(client, token)
    assert (await client.delete(f"{TOKENS}/{newest['id']}", headers=bearer(token))).status == 200
    assert (await client.delete(f"{TOKENS}/{newest['id']}", headers=bearer(token))).status == 404
    assert (await client.delete(f"{TOKENS}/c000000000000000000000000", headers=bearer(token))).status == 404


async def test_tokens_cannot_be_created_over_the_api(client: TestClient, admin: tuple[str, str]) -> None:
    assert (await client.post(TOKENS, json={}, headers=bearer(admin[1]))).status == 405
