"""POST /api/v1/jobs/{id}/promote: run a delayed job now."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, bearer, create_job, delayed_job
from sqlalchemy import select

from cocoa_common.models import AuditLog


async def promote(client: TestClient, token: str, job_id: str) -> tuple[int, dict[str, object]]:
    response = await client.post(f"/api/v1/jobs/{job_id}/promote", headers=bearer(token))
    return response.status, await response.json()


async def test_a_promoted_job_is_due_now(client: TestClient, admin_token: str) -> None:
    job = await delayed_job(client, admin_token)
    assert job["notBefore"] is not None
    status, body = await promote(client, admin_token, job["id"])
    assert (status, body["job"]["status"], body["job"]["notBefore"]) == (200, "pending", None)


async def test_a_promotion_is_audited(client: TestClient, admin: tuple[str, str], sessions: Sessions) -> None:
    user_id, token = admin
    job = await delayed_job(client, token)
    await promote(client, token, job["id"])
    async with sessions() as session:
        row = (await session.execute(select(AuditLog).where(AuditLog.action == "promote_job"))).scalar_one()
    assert (row.resource_id, row.user_id, json.loads(row.details or "{}")) == (job["id"], user_id, {})


async def test_a_job_that_is_not_delayed_is_400_saying_so(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    status, body = await promote(client, admin_token, job["id"])
    assert (status, body["error"]) == (400, f"Job {job['id']} is not delayed: it runs as soon as it can")


async def test_a_promotion_of_an_unknown_job_is_404(client: TestClient, admin_token: str) -> None:
    status, _ = await promote(client, admin_token, "cnosuchjob")
    assert status == 404


async def test_a_viewer_cannot_promote_a_job(client: TestClient, admin_token: str, viewer_token: str) -> None:
    job = await delayed_job(client, admin_token)
    status, _ = await promote(client, viewer_token, job["id"])
    assert status == 403
