"""/api/v1/schedules against a real coordinator and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, Sessions, bearer
from sqlalchemy import select

from cocoa_common.models import AuditLog

SCHEDULES = "/api/v1/schedules"
NIGHTLY = {
    "name": "Nightly geocode",
    "cron": "30 1 * * *",
    "timezone": "America/Chicago",
    "type": "geocoding",
    "data": GEOCODING_FILTERS,
}
SCHEDULE_KEYS = {
    "id", "name", "cron", "timezone", "type", "data", "isDynamic", "priority", "createdBy", "paused", "pausedAt",
    "nextRunAt", "lastRunAt", "lastJobId", "lastError", "skippedRuns", "createdAt", "updatedAt", "maxAttempts",
    "timeoutSeconds", "expiresAfterSeconds", "group",
}  # fmt: skip


async def _create(client: TestClient, token: str, **changes: Any) -> dict[str, Any]:
    response = await client.post(SCHEDULES, json={**NIGHTLY, **changes}, headers=bearer(token))
    assert response.status == 201, await response.text()
    return (await response.json())["schedule"]


async def test_creating_a_schedule_answers_201_with_its_next_time(
    client: TestClient, admin_token: str
) -> None:
    schedule = await _create(client, admin_token)
    assert set(schedule) == SCHEDULE_KEYS
    assert (schedule["name"], schedule["cron"], schedule["timezone"]) == (
        "Nightly geocode",
        "30 1 * * *",
        "America/Chicago",
    )
    assert schedule["nextRunAt"].endswith(":30:00.000Z")
    assert json.loads(schedule["data"]) == GEOCODING_FILTERS
    assert schedule["createdBy"]["email"] == "admin@example.com"
    assert (schedule["paused"], schedule["lastJobId"], schedule["skippedRuns"]) == (False, None, 0)


async def test_schedules_are_listed_and_read(client: TestClient, admin_token: str, viewer_token: str) -> None:
    schedule = await _create(client, admin_token)
    listed = await (await client.get(SCHEDULES, headers=bearer(viewer_token))).json()
    assert (listed["count"], [s["id"] for s in listed["schedules"]]) == (1, [schedule["id"]])
    read = await (await client.get(f"{SCHEDULES}/{schedule['id']}", headers=bearer(viewer_token))).json()
    assert read["id"] == schedule["id"]


async def test_a_schedule_is_paused_resumed_and_deleted(client: TestClient, admin_token: str) -> None:
    schedule = await _create(client, admin_token)
    paused = await client.post(f"{SCHEDULES}/{schedule['id']}/pause", headers=bearer(admin_token))
    assert (await paused.json())["schedule"]["paused"] is True
    resumed = await client.post(f"{SCHEDULES}/{schedule['id']}/resume", headers=bearer(admin_token))
    assert (await resumed.json())["schedule"]["paused"] is False
    deleted = await client.delete(f"{SCHEDULES}/{schedule['id']}", headers=bearer(admin_token))
    assert await deleted.json() == {"success": True, "message": "Schedule deleted"}
    gone = await client.get(f"{SCHEDULES}/{schedule['id']}", headers=bearer(admin_token))
    assert (gone.status, (await gone.json())["error"]) == (404, "Schedule not found")


async def test_schedule_changes_are_audited(client: TestClient, admin_token: str, sessions: Sessions) -> None:
    schedule = await _create(client, admin_token)
    await client.post(f"{SCHEDULES}/{schedule['id']}/pause", headers=bearer(admin_token))
    await client.delete(f"{SCHEDULES}/{schedule['id']}", headers=bearer(admin_token))
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars().all()
    assert [(r.action, r.resource_id) for r in rows][-3:] == [
        ("create_schedule", schedule["id"]),
        ("pause_schedule", schedule["id"]),
        ("delete_schedule", schedule["id"]),
    ]


async def test_a_viewer_cannot_create_a_schedule(client: TestClient, viewer_token: str) -> None:
    response = await client.post(SCHEDULES, json=NIGHTLY, headers=bearer(viewer_token))
    assert response.status == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cron": "every night"}, "cron"),
        ({"cron": None}, "cron"),
        ({"timezone": "Chicago"}, "timezone"),
        ({"name": ""}, "name"),
        ({"type": "mailing"}, "type"),
        ({"type": None}, "type"),
        ({"data": {"limit": 10}}, None),  # no filter: the geocoding routes' 400, with supportedFilters
        ({"data": [1]}, "data"),
        ({"type": "voter_import", "data": {}}, "data.uploadId"),
        ({"isDynamic": "yes"}, "isDynamic"),
        ({"priority": 1001}, "priority"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"timeoutSeconds": "1h"}, "timeoutSeconds"),
        ({"expiresAfterSeconds": 0}, "expiresAfterSeconds"),
    ],
)
async def test_a_bad_schedule_is_400_naming_the_field(
    client: TestClient, admin_token: str, changes: dict[str, Any], field: str | None
) -> None:
    response = await client.post(SCHEDULES, json={**NIGHTLY, **changes}, headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json()).get("field") == field


async def test_a_schedule_keeps_the_priority_its_jobs_get(client: TestClient, admin_token: str) -> None:
    assert (await _create(client, admin_token, priority=-3))["priority"] == -3


async def test_a_schedule_keeps_the_limits_its_jobs_get(client: TestClient, admin_token: str) -> None:
    schedule = await _create(client, admin_token, maxAttempts=2, timeoutSeconds=600)
    assert (schedule["maxAttempts"], schedule["timeoutSeconds"]) == (2, 600)


async def test_a_schedule_without_limits_shows_null_for_them(client: TestClient, admin_token: str) -> None:
    schedule = await _create(client, admin_token)
    assert (schedule["maxAttempts"], schedule["timeoutSeconds"], schedule["expiresAfterSeconds"]) == (
        None,
    ) * 3


async def test_a_schedule_keeps_the_expiry_of_its_jobs(client: TestClient, admin_token: str) -> None:
    assert (await _create(client, admin_token, expiresAfterSeconds=3600))["expiresAfterSeconds"] == 3600


async def test_a_schedule_keeps_the_group_of_its_jobs(client: TestClient, admin_token: str) -> None:
    assert (await _create(client, admin_token, group="durham"))["group"] == "durham"
    assert (await _create(client, admin_token))["group"] is None
