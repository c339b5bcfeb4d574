"""/api/v1/groups: a job group paused as a whole, against a real coordinator, PostgreSQL and
in-process test workers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, Sessions, WorkerFactory, bearer, wait_for_status
from sqlalchemy import select

from cocoa_common.models import AuditLog


async def grouped_job(client: TestClient, token: str, group: str) -> dict[str, Any]:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, "group": group}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(token))
    assert response.status == 201, await response.text()
    return (await response.json())["job"]


async def set_paused(client: TestClient, token: str, group: str, action: str = "pause") -> Any:
    return await client.post(f"/api/v1/groups/{action}", json={"group": group}, headers=bearer(token))


async def test_a_paused_group_s_new_jobs_wait_until_it_is_resumed(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    paused = await (await set_paused(client, admin_token, "campaign/wake")).json()
    assert (paused["group"]["paused"], paused["group"]["pausedBy"]["email"]) == (True, "admin@example.com")
    waiting = await grouped_job(client, admin_token, "campaign/wake")
    other = await grouped_job(client, admin_token, "campaign/durham")
    await wait_for_status(client, admin_token, other["id"], "completed")
    await asyncio.sleep(0.5)
    assert (await wait_for_status(client, admin_token, waiting["id"], "pending"))["status"] == "pending"
    resumed = await (await set_paused(client, admin_token, "campaign/wake", "resume")).json()
    assert resumed["group"]["paused"] is False
    await wait_for_status(client, admin_token, waiting["id"], "completed")


async def test_groups_are_listed_with_their_jobs_and_pause(
    client: TestClient, admin_token: str, viewer_token: str
) -> None:
    await grouped_job(client, admin_token, "wake")
    await set_paused(client, admin_token, "durham")
    response = await client.get("/api/v1/groups", headers=bearer(viewer_token))
    body = await response.json()
    groups = {g["group"]: g for g in body["groups"]}
    assert (response.status, body["count"], sorted(groups)) == (200, 2, ["durham", "wake"])
    assert set(groups["wake"]) == {"group", "paused", "pausedAt", "pausedBy", "jobs"}
    assert (groups["wake"]["jobs"]["pending"], groups["wake"]["paused"], groups["durham"]["paused"]) == (
        1,
        False,
        True,
    )


async def test_pausing_a_group_is_audited(client: TestClient, admin_token: str, sessions: Sessions) -> None:
    await set_paused(client, admin_token, "wake")
    await set_paused(client, admin_token, "wake", "resume")
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog).order_by(AuditLog.created_at))).scalars().all()
    assert [(r.action, r.resource, r.resource_id) for r in rows][-2:] == [
        ("pause_group", "group", "wake"),
        ("resume_group", "group", "wake"),
    ]


@pytest.mark.parametrize("body", [{}, {"group": ""}, {"group": 7}, {"group": "x" * 101}, {"group": "a\tb"}])
async def test_a_pause_without_a_valid_group_is_400_naming_it(
    client: TestClient, admin_token: str, body: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/groups/pause", json=body, headers=bearer(admin_token))
    assert (response.status, (await response.json())["field"]) == (400, "group")


async def test_a_viewer_cannot_pause_a_group(client: TestClient, viewer_token: str) -> None:
    assert (await set_paused(client, viewer_token, "wake")).status == 403
