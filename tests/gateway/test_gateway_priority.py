"""Job priority over REST: given on create, shown on the job, changed while the job waits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, Sessions, bearer, create_job, delayed_job
from sqlalchemy import select

from cocoa_common.models import AuditLog


async def set_priority(client: TestClient, token: str, job_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/api/v1/jobs/{job_id}/priority", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_a_job_created_with_a_priority_shows_it(client: TestClient, admin_token: str) -> None:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, "priority": 7}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(admin_token))
    assert response.status == 201
    assert (await response.json())["job"]["priority"] == 7


async def test_a_job_created_without_a_priority_has_priority_0(client: TestClient, admin_token: str) -> None:
    assert (await create_job(client, admin_token))["priority"] == 0


@pytest.mark.parametrize("priority", [1001, -1001, "high", True, 2.5])
async def test_a_create_with_a_bad_priority_is_400_naming_it(
    client: TestClient, admin_token: str, priority: Any
) -> None:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, "priority": priority}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["error"] == "priority must be an integer between -1000 and 1000"
    assert (await response.json())["field"] == "priority"


async def test_a_pending_job_gets_a_new_priority(client: TestClient, admin_token: str) -> None:
    job = await delayed_job(client, admin_token)
    status, body = await set_priority(client, admin_token, job["id"], {"priority": -20})
    assert (status, body["job"]["priority"], body["job"]["status"]) == (200, -20, "pending")


async def test_a_priority_change_is_audited_with_the_old_and_new_priority(
    client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    user_id, token = admin
    job = await delayed_job(client, token)
    await set_priority(client, token, job["id"], {"priority": 9})
    async with sessions() as session:
        row = (await session.execute(select(AuditLog).where(AuditLog.action == "set_priority"))).scalar_one()
    assert (row.resource_id, row.user_id) == (job["id"], user_id)
    assert json.loads(row.details) == {"from": 0, "to": 9}


async def test_a_priority_change_of_a_finished_job_is_400_naming_its_status(
    client: TestClient, admin_token: str
) -> None:
    job = await delayed_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    status, body = await set_priority(client, admin_token, job["id"], {"priority": 3})
    assert (status, body["error"]) == (400, "Cannot change the priority of job with status: cancelled")


@pytest.mark.parametrize("body", [{}, {"priority": None}, {"priority": "3"}, {"priority": 5000}])
async def test_a_priority_change_without_a_good_priority_is_400_naming_it(
    client: TestClient, admin_token: str, body: dict[str, Any]
) -> None:
    job = await delayed_job(client, admin_token)
    status, answer = await set_priority(client, admin_token, job["id"], body)
    assert (status, answer["field"]) == (400, "priority")


async def test_a_priority_change_of_an_unknown_job_is_404(client: TestClient, admin_token: str) -> None:
    status, body = await set_priority(client, admin_token, "cnosuchjob", {"priority": 3})
    assert (status, body["success"]) == (404, False)


async def test_a_viewer_cannot_change_a_priority(
    client: TestClient, admin_token: str, viewer_token: str
) -> None:
    job = await delayed_job(client, admin_token)
    status, _ = await set_priority(client, viewer_token, job["id"], {"priority": 3})
    assert status == 403
