"""/api/v1/queues against a real coordinator, PostgreSQL and in-process test workers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, WorkerFactory, bearer, create_job, wait_for_status
from sqlalchemy import select

from cocoa_common.models import AuditLog


async def _queues(client: TestClient, token: str) -> dict[str, dict[str, object]]:
    response = await client.get("/api/v1/queues", headers=bearer(token))
    assert response.status == 200
    return {q["type"]: q for q in (await response.json())["queues"]}


async def test_queues_list_every_type_with_its_jobs_and_workers(
    client: TestClient, admin_token: str, viewer_token: str
) -> None:
    await create_job(client, admin_token, "geocoding")
    queues = await _queues(client, viewer_token)
    assert sorted(queues) == ["geocoding", "parcel_import", "voter_import"]
    geocoding = queues["geocoding"]
    assert (geocoding["paused"], geocoding["pausedAt"], geocoding["pausedBy"]) == (False, None, None)
    assert geocoding["jobs"]["pending"] == 1
    assert set(geocoding) == {
        "type", "paused", "pausedAt", "pausedBy", "jobs", "oldestPendingSeconds", "workers", "workerSlots",
        "concurrency", "concurrencySet",
    }  # fmt: skip
    assert (geocoding["concurrency"], geocoding["concurrencySet"]) == (1, False)


async def test_a_paused_queue_holds_its_jobs_until_resumed(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    response = await client.post("/api/v1/queues/geocoding/pause", headers=bearer(admin_token))
    assert response.status == 200
    queue = (await response.json())["queue"]
    assert queue["paused"] is True
    assert queue["pausedBy"]["email"] == "admin@example.com"
    job = await create_job(client, admin_token, "geocoding")
    await asyncio.sleep(1.2)
    assert (await wait_for_status(client, admin_token, job["id"], "pending"))["status"] == "pending"
    resumed = await client.post("/api/v1/queues/geocoding/resume", headers=bearer(admin_token))
    assert (await resumed.json())["queue"]["paused"] is False
    await wait_for_status(client, admin_token, job["id"], "completed")


async def test_a_queue_is_named_by_its_type_or_an_alias(client: TestClient, admin_token: str) -> None:
    response = await client.post("/api/v1/queues/import_voters/pause", headers=bearer(admin_token))
    assert (await response.json())["queue"]["type"] == "voter_import"


async def test_an_unknown_queue_is_404(client: TestClient, admin_token: str) -> None:
    response = await client.post("/api/v1/queues/mailing/pause", headers=bearer(admin_token))
    assert response.status == 404
    assert (await response.json())["error"] == "Unknown queue: mailing"


async def test_a_viewer_cannot_pause_a_queue(client: TestClient, viewer_token: str) -> None:
    response = await client.post("/api/v1/queues/geocoding/pause", headers=bearer(viewer_token))
    assert response.status == 403


async def test_pausing_and_resuming_a_queue_are_audited(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await client.post("/api/v1/queues/geocoding/pause", headers=bearer(admin_token))
    await client.post("/api/v1/queues/geocoding/resume", headers=bearer(admin_token))
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars().all()
    assert [(r.action, r.resource, r.resource_id) for r in rows][-2:] == [
        ("pause_queue", "queue", "geocoding"),
        ("resume_queue", "queue", "geocoding"),
    ]


async def _set_concurrency(
    client: TestClient, token: str, job_type: str, body: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/api/v1/queues/{job_type}/concurrency", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_a_raised_concurrency_runs_more_of_the_type_s_jobs_at_once(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    jobs = [await create_job(client, admin_token, items=20, batch=1, delay=0.05) for _ in range(2)]
    status, body = await _set_concurrency(client, admin_token, "geocoding", {"concurrency": 2})
    assert (status, body["queue"]["concurrency"], body["queue"]["concurrencySet"]) == (200, 2, True)
    for job in jobs:
        await wait_for_status(client, admin_token, job["id"], "processing")


async def test_a_null_concurrency_goes_back_to_the_configured_one(
    client: TestClient, admin_token: str
) -> None:
    await _set_concurrency(client, admin_token, "geocoding", {"concurrency": 4})
    status, body = await _set_concurrency(client, admin_token, "geocoding", {"concurrency": None})
    assert (status, body["queue"]["concurrency"], body["queue"]["concurrencySet"]) == (200, 1, False)


@pytest.mark.parametrize("body", [{}, {"concurrency": 0}, {"concurrency": 1001}, {"concurrency": "2"}])
async def test_a_bad_concurrency_is_400_naming_it(
    client: TestClient, admin_token: str, body: dict[str, Any]
) -> None:
    status, answer = await _set_concurrency(client, admin_token, "geocoding", body)
    assert (status, answer["field"]) == (400, "concurrency")


async def test_the_concurrency_of_an_unknown_queue_is_404(client: TestClient, admin_token: str) -> None:
    status, body = await _set_concurrency(client, admin_token, "nothing", {"concurrency": 2})
    assert (status, body["error"]) == (404, "Unknown queue: nothing")


async def test_a_viewer_cannot_set_a_concurrency(client: TestClient, viewer_token: str) -> None:
    status, _ = await _set_concurrency(client, viewer_token, "geocoding", {"concurrency": 2})
    assert status == 403


async def test_a_concurrency_change_is_audited_with_the_old_and_new_limit(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await _set_concurrency(client, admin_token, "geocoding", {"concurrency": 3})
    async with sessions() as session:
        row = (
            await session.execute(select(AuditLog).where(AuditLog.action == "set_queue_concurrency"))
        ).scalar_one()
    assert (row.resource, row.resource_id) == ("queue", "geocoding")
    assert json.loads(row.details) == {"from": 1, "to": 3, "default": False}
