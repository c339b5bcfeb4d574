"""POST /api/v1/jobs/{id}/retry against a real coordinator and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, WorkerFactory, bearer, create_job, fetch_job, wait_for_status
from sqlalchemy import select

from cocoa_common.models import AuditLog


async def eventually_no_worker_holds(client: TestClient, token: str, job_id: str) -> None:
    """Wait (at most 10 s) until no worker lists the job in its ``jobIds``: it has stopped."""
    for _ in range(200):  # 200 × 0.05 s
        workers = (await (await client.get("/api/v1/workers", headers=bearer(token))).json())["workers"]
        if all(job_id not in w["jobIds"] for w in workers):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"a worker still holds job {job_id}")


async def cancelled_job(client: TestClient, token: str) -> dict[str, object]:
    job = await create_job(client, token, items=3)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(token))
    return job


async def test_retry_of_a_cancelled_job_is_201_with_the_new_job(client: TestClient, admin_token: str) -> None:
    source = await cancelled_job(client, admin_token)
    response = await client.post(f"/api/v1/jobs/{source['id']}/retry", headers=bearer(admin_token))
    assert response.status == 201
    body = await response.json()
    assert body["success"] is True
    job = body["job"]
    assert job["id"] != source["id"]
    assert (job["status"], job["type"], job["retryOf"]) == ("pending", source["type"], source["id"])
    assert json.loads(job["data"]) == json.loads(str(source["data"]))


async def test_a_second_retry_is_200_with_the_first_retry(client: TestClient, admin_token: str) -> None:
    source = await cancelled_job(client, admin_token)
    url = f"/api/v1/jobs/{source['id']}/retry"
    first = await (await client.post(url, headers=bearer(admin_token))).json()
    again = await client.post(url, headers=bearer(admin_token))
    assert again.status == 200
    assert (await again.json())["job"]["id"] == first["job"]["id"]


async def test_retry_of_a_pending_job_is_400_naming_its_status(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    response = await client.post(f"/api/v1/jobs/{job['id']}/retry", headers=bearer(admin_token))
    assert response.status == 400
    assert await response.json() == {"success": False, "error": "Cannot retry job with status: pending"}


async def test_retry_of_an_unknown_job_is_404(client: TestClient, admin_token: str) -> None:
    response = await client.post("/api/v1/jobs/nope/retry", headers=bearer(admin_token))
    assert response.status == 404
    assert await response.json() == {"success": False, "error": "Job not found"}


async def test_retry_needs_an_admin(client: TestClient, admin_token: str, viewer_token: str) -> None:
    source = await cancelled_job(client, admin_token)
    response = await client.post(f"/api/v1/jobs/{source['id']}/retry", headers=bearer(viewer_token))
    assert response.status == 403


async def test_retry_is_audited_once_with_its_source(
    client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    user_id, token = admin
    source = await cancelled_job(client, token)
    url = f"/api/v1/jobs/{source['id']}/retry"
    job = (await (await client.post(url, headers=bearer(token))).json())["job"]
    await client.post(url, headers=bearer(token))
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog).where(AuditLog.action == "retry_job"))).scalars().all()
    assert [(r.resource_id, r.user_id) for r in rows] == [(job["id"], user_id)]
    assert json.loads(rows[0].details or "{}") == {
        "type": source["type"],
        "retryOf": source["id"],
        "fromCheckpoint": False,
    }


async def test_a_retry_from_the_checkpoint_carries_on_with_the_counts(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    source = await create_job(client, admin_token, items=40, batch=1, delay=0.05)
    for _ in range(400):  # 400 × 0.025 s
        fetched = await fetch_job(client, admin_token, source["id"])
        if fetched["processedItems"] >= 3:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the job saved no checkpoint within 10 s")
    await client.delete(f"/api/v1/jobs/{source['id']}", headers=bearer(admin_token))
    await wait_for_status(client, admin_token, source["id"], "cancelled")
    await eventually_no_worker_holds(client, admin_token, source["id"])  # its last batch is counted
    stopped = await fetch_job(client, admin_token, source["id"])
    response = await client.post(
        f"/api/v1/jobs/{source['id']}/retry", json={"fromCheckpoint": True}, headers=bearer(admin_token)
    )
    assert response.status == 201
    job = (await response.json())["job"]
    assert (job["retryOf"], job["processedItems"]) == (source["id"], stopped["processedItems"])
    done = await wait_for_status(client, admin_token, job["id"], "completed")
    assert done["processedItems"] == 40


async def test_a_retry_from_a_checkpoint_the_job_never_saved_is_400_naming_it(
    client: TestClient, admin_token: str
) -> None:
    source = await cancelled_job(client, admin_token)
    response = await client.post(
        f"/api/v1/jobs/{source['id']}/retry", json={"fromCheckpoint": True}, headers=bearer(admin_token)
    )
    assert response.status == 400
    assert (await response.json())["field"] == "fromCheckpoint"


async def test_a_from_checkpoint_that_is_not_a_boolean_is_400_naming_it(
    client: TestClient, admin_token: str
) -> None:
    source = await cancelled_job(client, admin_token)
    response = await client.post(
        f"/api/v1/jobs/{source['id']}/retry", json={"fromCheckpoint": "yes"}, headers=bearer(admin_token)
    )
    assert response.status == 400
    assert (await response.json())["field"] == "fromCheckpoint"
