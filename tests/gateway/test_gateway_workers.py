"""/api/v1/workers against a real coordinator with in-process workers on real gRPC streams."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, WorkerFactory, bearer, create_job, wait_for_status
from sqlalchemy import select

from cocoa_common.models import AuditLog

WORKER_KEYS = {
    "id",
    "service",
    "types",
    "capacity",
    "jobIds",
    "connectedAt",
    "lastSeenAt",
    "address",
    "draining",
}


async def listed(client: TestClient, token: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/workers", headers=bearer(token))
    assert response.status == 200
    body = await response.json()
    assert body["count"] == len(body["workers"])
    return body["workers"]


async def test_the_connected_workers_are_listed_for_any_role(
    client: TestClient, viewer_token: str, start_worker: WorkerFactory
) -> None:
    runtime = await start_worker()
    [worker] = await listed(client, viewer_token)
    assert set(worker) == WORKER_KEYS
    assert (worker["id"], worker["service"], worker["types"]) == (
        runtime.worker_id,
        "test",
        ["geocoding", "voter_import"],
    )
    assert worker["address"].startswith("ipv4:127.0.0.1:")
    assert (worker["jobIds"], worker["draining"]) == ([], False)


async def test_no_worker_is_an_empty_list(client: TestClient, admin_token: str) -> None:
    assert await listed(client, admin_token) == []


async def test_a_drained_worker_gets_no_new_job_until_resumed(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    runtime = await start_worker()
    response = await client.post(f"/api/v1/workers/{runtime.worker_id}/drain", headers=bearer(admin_token))
    assert response.status == 200
    assert (await response.json())["worker"]["draining"] is True
    job = await create_job(client, admin_token)
    queues = await (await client.get("/api/v1/queues", headers=bearer(admin_token))).json()
    geocoding = next(q for q in queues["queues"] if q["type"] == "geocoding")
    assert (geocoding["workers"], geocoding["workerSlots"]) == (1, 0)
    await client.post(f"/api/v1/workers/{runtime.worker_id}/resume", headers=bearer(admin_token))
    await wait_for_status(client, admin_token, job["id"], "completed")


async def test_draining_is_audited(
    client: TestClient, admin: tuple[str, str], sessions: Sessions, start_worker: WorkerFactory
) -> None:
    user_id, token = admin
    runtime = await start_worker()
    await client.post(f"/api/v1/workers/{runtime.worker_id}/drain", headers=bearer(token))
    async with sessions() as session:
        row = (await session.execute(select(AuditLog).where(AuditLog.action == "drain_worker"))).scalar_one()
    assert (row.resource, row.resource_id, row.user_id) == ("worker", runtime.worker_id, user_id)
    assert json.loads(row.details) == {"service": "test", "jobs": []}


async def test_draining_an_unknown_worker_is_404(client: TestClient, admin_token: str) -> None:
    response = await client.post("/api/v1/workers/nobody/drain", headers=bearer(admin_token))
    assert response.status == 404
    assert (await response.json())["error"] == "Worker not found"


async def test_a_viewer_cannot_drain_a_worker(
    client: TestClient, viewer_token: str, start_worker: WorkerFactory
) -> None:
    runtime = await start_worker()
    response = await client.post(f"/api/v1/workers/{runtime.worker_id}/drain", headers=bearer(viewer_token))
    assert response.status == 403
