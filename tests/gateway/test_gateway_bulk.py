"""POST /api/v1/jobs/bulk against a real coordinator and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, bearer, delayed_job, fetch_job
from sqlalchemy import select

from cocoa_common.models import AuditLog

BULK = "/api/v1/jobs/bulk"


async def _status(client: TestClient, token: str, job_id: str) -> str:
    return (await fetch_job(client, token, job_id))["status"]


async def test_bulk_cancel_by_ids_reports_each_job(client: TestClient, admin_token: str) -> None:
    jobs = [await delayed_job(client, admin_token) for _ in range(2)]
    response = await client.post(
        BULK,
        json={"action": "cancel", "ids": [jobs[0]["id"], "cnosuchjob", jobs[1]["id"]]},
        headers=bearer(admin_token),
    )
    assert response.status == 200
    body = await response.json()
    assert (body["succeeded"], body["failed"], body["remaining"]) == (2, 1, 0)
    assert body["results"] == [
        {"id": jobs[0]["id"], "success": True, "status": "cancelled"},
        {"id": "cnosuchjob", "success": False, "error": "Job not found"},
        {"id": jobs[1]["id"], "success": True, "status": "cancelled"},
    ]


async def test_bulk_pause_by_filter_moves_the_matching_jobs(client: TestClient, admin_token: str) -> None:
    jobs = [await delayed_job(client, admin_token) for _ in range(3)]
    response = await client.post(
        BULK,
        json={"action": "pause", "filter": {"status": "pending", "type": ["geocoding"]}},
        headers=bearer(admin_token),
    )
    body = await response.json()
    assert body["succeeded"] == 3
    assert [await _status(client, admin_token, j["id"]) for j in jobs] == ["paused"] * 3


async def test_bulk_promote_runs_the_delayed_jobs_now(client: TestClient, admin_token: str) -> None:
    jobs = [await delayed_job(client, admin_token) for _ in range(2)]
    response = await client.post(
        BULK, json={"action": "promote", "filter": {"status": "pending"}}, headers=bearer(admin_token)
    )
    assert (await response.json())["succeeded"] == 2
    for job in jobs:
        fetched = await fetch_job(client, admin_token, job["id"])
        assert fetched["notBefore"] is None


async def test_bulk_retry_names_each_new_job(client: TestClient, admin_token: str) -> None:
    job = await delayed_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    response = await client.post(
        BULK, json={"action": "retry", "filter": {"status": "cancelled"}}, headers=bearer(admin_token)
    )
    [result] = (await response.json())["results"]
    assert (result["id"], result["success"], result["status"], result["created"]) == (
        job["id"],
        True,
        "pending",
        True,
    )
    retry = await (
        await client.get(f"/api/v1/jobs/{result['retryJobId']}", headers=bearer(admin_token))
    ).json()
    assert retry["retryOf"] == job["id"]


async def test_a_bulk_filter_by_creation_time_leaves_older_and_newer_jobs_alone(
    client: TestClient, admin_token: str
) -> None:
    older = await delayed_job(client, admin_token)
    inside = await delayed_job(client, admin_token)
    newer = await delayed_job(client, admin_token)
    window = {"createdAfter": inside["createdAt"], "createdBefore": newer["createdAt"]}
    response = await client.post(
        BULK, json={"action": "cancel", "filter": window}, headers=bearer(admin_token)
    )
    assert [r["id"] for r in (await response.json())["results"]] == [inside["id"]]
    statuses = [await _status(client, admin_token, j["id"]) for j in (older, inside, newer)]
    assert statuses == ["pending", "cancelled", "pending"]


async def test_a_bulk_limit_leaves_the_rest_for_another_call(client: TestClient, admin_token: str) -> None:
    for _ in range(3):
        await delayed_job(client, admin_token)
    response = await client.post(
        BULK,
        json={"action": "cancel", "filter": {"status": "pending"}, "limit": 2},
        headers=bearer(admin_token),
    )
    body = await response.json()
    assert (body["succeeded"], body["remaining"]) == (2, 1)


async def test_bulk_control_is_audited_once_with_its_outcome(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    job = await delayed_job(client, admin_token)
    await client.post(BULK, json={"action": "cancel", "ids": [job["id"]]}, headers=bearer(admin_token))
    async with sessions() as session:
        rows = (
            (await session.execute(select(AuditLog).where(AuditLog.action == "bulk_control"))).scalars().all()
        )
    assert len(rows) == 1
    assert json.loads(rows[0].details) == {
        "action": "cancel",
        "ids": [job["id"]],
        "succeeded": 1,
        "failed": 0,
    }


async def test_a_viewer_cannot_act_in_bulk(client: TestClient, viewer_token: str) -> None:
    response = await client.post(BULK, json={"action": "cancel", "ids": ["x"]}, headers=bearer(viewer_token))
    assert response.status == 403


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"ids": ["x"]}, "action", "Invalid action. Expected pause, resume, cancel, retry, or promote."),
        ({"action": "delete", "ids": ["x"]}, "action", "Invalid action. Expected pause, resume, cancel, retry, or promote."),
        ({"action": "cancel"}, "ids", "Give either ids (the jobs) or filter (status, type, createdById, search, createdAfter, createdBefore, group)"),
        ({"action": "cancel", "ids": ["x"], "filter": {"status": "pending"}}, "ids",
         "Give either ids (the jobs) or filter (status, type, createdById, search, createdAfter, createdBefore, group)"),
        ({"action": "cancel", "ids": []}, "ids", "ids must be a non-empty array of job ids"),
        ({"action": "cancel", "ids": "x"}, "ids", "ids must be a non-empty array of job ids"),
        ({"action": "cancel", "ids": [f"j{i}" for i in range(201)]}, "ids", "ids names at most 200 jobs"),
        ({"action": "cancel", "filter": {}}, "filter", "filter must be an object with status, type, createdById, search, createdAfter, createdBefore, group"),
        ({"action": "cancel", "filter": {"city": "x"}}, "filter", "filter takes status, type, createdById, search, createdAfter, createdBefore, group, not city"),
        ({"action": "cancel", "filter": {"status": 3}}, "filter", "filter.status must be a string"),
        ({"action": "cancel", "filter": {"status": "gone"}}, "status",
         "Invalid status: gone. Expected one of pending, processing, paused, completed, failed, cancelled"),
        ({"action": "cancel", "filter": {"status": "pending"}, "limit": 0}, "limit", None),
        ({"action": "cancel", "filter": {"createdAfter": "yesterday"}}, "createdAfter",
         "createdAfter must be an ISO-8601 time such as 2026-12-06T02:00:00Z"),
        ({"action": "cancel", "filter": {"createdBefore": "2026-12-05T10:00:00"}}, "createdBefore",
         "createdBefore must give its time zone (Z or an offset such as -05:00)"),
    ],
)  # fmt: skip
async def test_a_bad_bulk_request_is_400_naming_the_field(
    client: TestClient, admin_token: str, body: dict[str, Any], field: str, message: str | None
) -> None:
    response = await client.post(BULK, json=body, headers=bearer(admin_token))
    assert response.status == 400
    answer = await response.json()
    assert answer["field"] == field
    assert message is None or answer["error"] == message
