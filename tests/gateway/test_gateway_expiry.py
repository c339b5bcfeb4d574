"""A job's start-by time over REST: ``expiresAt`` on the routes that create jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, bearer, fetch_job


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def create(client: TestClient, token: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, **fields}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_a_job_created_with_an_expiry_shows_it(client: TestClient, admin_token: str) -> None:
    expires = datetime.now(UTC) + timedelta(hours=2)
    status, body = await create(client, admin_token, expiresAt=expires.isoformat())
    assert status == 201
    assert datetime.fromisoformat(body["job"]["expiresAt"]) == pytest.approx(
        expires, abs=timedelta(seconds=1)
    )


async def test_a_job_created_without_an_expiry_shows_null(client: TestClient, admin_token: str) -> None:
    _, body = await create(client, admin_token)
    assert body["job"]["expiresAt"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expiresAt": iso(-timedelta(minutes=1))}, "expiresAt must be in the future"),
        ({"expiresAt": iso(timedelta(days=40))}, "expiresAt must be at most 30 days from now"),
        (
            {"expiresAt": iso(timedelta(hours=1)), "runAt": iso(timedelta(hours=3))},
            "expiresAt must be after runAt",
        ),
        ({"expiresAt": "2026-12-06T02:00:00"}, None),  # no zone
        ({"expiresAt": 1767225600}, None),
    ],
)
async def test_a_bad_expiry_is_400_naming_it(
    client: TestClient, admin_token: str, fields: dict[str, Any], message: str | None
) -> None:
    status, body = await create(client, admin_token, **fields)
    assert (status, body["field"]) == (400, "expiresAt")
    assert message is None or body["error"] == message


async def test_a_geocoding_job_body_takes_an_expiry(client: TestClient, admin_token: str) -> None:
    body = {"filters": {"city": "Nowhere"}, "mode": "dynamic", "expiresAt": iso(timedelta(hours=1))}
    response = await client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 202, await response.text()
    job_id = (await response.json())["jobId"]
    job = await fetch_job(client, admin_token, job_id)
    assert job["expiresAt"] is not None
