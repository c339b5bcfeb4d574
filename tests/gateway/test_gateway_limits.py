"""A job's own limits over REST: ``maxAttempts`` and ``timeoutSeconds`` on create and retry."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, bearer, create_job, delayed_job


async def create(client: TestClient, token: str, **limits: Any) -> tuple[int, dict[str, Any]]:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, **limits}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_a_job_created_with_limits_shows_them(client: TestClient, admin_token: str) -> None:
    status, body = await create(client, admin_token, maxAttempts=5, timeoutSeconds=3600)
    assert status == 201
    assert (body["job"]["maxAttempts"], body["job"]["timeoutSeconds"]) == (5, 3600)
    assert isinstance(body["job"]["timeoutSeconds"], int)  # as sent, not 3600.0


async def test_a_job_created_without_limits_shows_the_defaults(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    assert (job["maxAttempts"], job["timeoutSeconds"]) == (3, 86400)


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"maxAttempts": 26}, "maxAttempts"),
        ({"maxAttempts": "3"}, "maxAttempts"),
        ({"maxAttempts": True}, "maxAttempts"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
        ({"timeoutSeconds": 2_592_001}, "timeoutSeconds"),
        ({"timeoutSeconds": 1.5}, "timeoutSeconds"),
    ],
)
async def test_a_create_with_a_bad_limit_is_400_naming_it(
    client: TestClient, admin_token: str, limits: dict[str, Any], field: str
) -> None:
    status, body = await create(client, admin_token, **limits)
    assert (status, body["field"]) == (400, field)
    assert body["error"].startswith(f"{field} must be an integer between 1 and ")


async def test_a_retry_keeps_the_limits_of_the_job_it_retries(client: TestClient, admin_token: str) -> None:
    _, created = await create(client, admin_token, maxAttempts=8)
    job_id = created["job"]["id"]
    await client.delete(f"/api/v1/jobs/{job_id}", headers=bearer(admin_token))
    response = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=bearer(admin_token))
    assert (response.status, (await response.json())["job"]["maxAttempts"]) == (201, 8)


async def test_a_retry_may_give_itself_a_longer_timeout(client: TestClient, admin_token: str) -> None:
    job = await delayed_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    response = await client.post(
        f"/api/v1/jobs/{job['id']}/retry", json={"timeoutSeconds": 172800}, headers=bearer(admin_token)
    )
    assert (response.status, (await response.json())["job"]["timeoutSeconds"]) == (201, 172800)


async def test_a_retry_with_a_bad_limit_is_400_naming_it(client: TestClient, admin_token: str) -> None:
    job = await delayed_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    response = await client.post(
        f"/api/v1/jobs/{job['id']}/retry", json={"maxAttempts": 100}, headers=bearer(admin_token)
    )
    assert (response.status, (await response.json())["field"]) == (400, "maxAttempts")
