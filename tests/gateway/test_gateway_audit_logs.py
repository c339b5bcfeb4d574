"""GET /api/v1/audit-logs: the audit log read back, newest first, narrowed by action, user, resource
and time. Real gateway and coordinator, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, bearer, create_job

from cocoa_common.models import AuditLog

AUDIT = "/api/v1/audit-logs"
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def audit_rows(sessions: Sessions, *rows: tuple[str, str, str, datetime]) -> None:
    """(action, user id, resource id, time) rows about jobs, as the gateway writes them."""
    async with sessions.begin() as session:
        for action, user_id, resource_id, when in rows:
            session.add(
                AuditLog(
                    user_id=user_id,
                    action=action,
                    resource="job",
                    resource_id=resource_id,
                    details="{}",
                    created_at=when,
                )
            )


async def listed(client: TestClient, token: str, **query: Any) -> dict[str, Any]:
    response = await client.get(AUDIT, params=query, headers=bearer(token))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_an_action_taken_through_the_api_is_listed_with_who_from_where_and_what(
    client: TestClient, admin_token: str, admin: tuple[str, str]
) -> None:
    job = await create_job(client, admin_token)
    body = await listed(client, admin_token)
    [entry] = body["entries"]
    assert (entry["action"], entry["resource"], entry["resourceId"]) == ("create_job", "job", job["id"])
    assert entry["user"] == {"id": admin[0], "email": "admin@example.com", "name": "Admin User"}
    assert entry["details"]["type"] == "geocoding"
    assert entry["ipAddress"] == "127.0.0.1"
    assert entry["userAgent"].startswith("Python/")
    assert entry["createdAt"].endswith("Z")
    assert (body["total"], body["limit"], body["offset"]) == (1, 50, 0)


async def test_entries_come_newest_first_a_page_at_a_time(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await audit_rows(
        sessions, *(("create_job", "u1", f"job-{i}", NOON + timedelta(minutes=i)) for i in range(5))
    )
    first = await listed(client, admin_token, limit=2)
    second = await listed(client, admin_token, limit=2, offset=2)
    assert [e["resourceId"] for e in first["entries"] + second["entries"]] == [
        f"job-{i}" for i in (4, 3, 2, 1)
    ]
    assert (first["total"], second["offset"]) == (5, 2)


async def test_the_action_filter_takes_several_actions(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await audit_rows(
        sessions,
        ("create_job", "u1", "a", NOON),
        ("cancel_job", "u1", "a", NOON + timedelta(seconds=1)),
        ("pause_job", "u1", "b", NOON + timedelta(seconds=2)),
    )
    body = await listed(client, admin_token, action="cancel_job,pause_job")
    assert [e["action"] for e in body["entries"]] == ["pause_job", "cancel_job"]


async def test_the_user_filter_lists_one_users_actions(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await audit_rows(sessions, ("create_job", "u1", "a", NOON), ("create_job", "u2", "b", NOON))
    body = await listed(client, admin_token, userId="u2")
    assert [e["resourceId"] for e in body["entries"]] == ["b"]
    assert body["entries"][0]["user"] is None  # a user who no longer exists


async def test_the_resource_filter_gives_one_jobs_audit_trail(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await audit_rows(
        sessions,
        ("create_job", "u1", "a", NOON),
        ("create_job", "u1", "b", NOON),
        ("cancel_job", "u2", "a", NOON + timedelta(seconds=1)),
    )
    body = await listed(client, admin_token, resource="job", resourceId="a")
    assert [e["action"] for e in body["entries"]] == ["cancel_job", "create_job"]


async def test_the_time_filter_keeps_from_its_start_up_to_its_end(
    client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await audit_rows(
        sessions, *(("create_job", "u1", f"job-{h}", NOON + timedelta(hours=h)) for h in range(4))
    )
    after, before = (NOON + timedelta(hours=1)).isoformat(), (NOON + timedelta(hours=3)).isoformat()
    body = await listed(client, admin_token, createdAfter=after, createdBefore=before)
    assert [e["resourceId"] for e in body["entries"]] == ["job-2", "job-1"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"action": "drop_table"}, "action", "Invalid action: drop_table. Expected one of create_job,"),
        ({"createdAfter": "yesterday"}, "createdAfter", "createdAfter must be an ISO-8601 time"),
        ({"createdBefore": "2026-12-01T00:00:00"}, "createdBefore", "createdBefore must give its time zone"),
        ({"limit": "201"}, "limit", "limit must be an integer between 1 and 200"),
        ({"offset": "-1"}, "offset", "offset must be an integer between 0 and"),
        ({"resourceId": "x" * 65}, "resourceId", "resourceId is at most 64 characters"),
    ],
)
async def test_a_bad_filter_is_a_400_naming_it(
    client: TestClient, admin_token: str, query: dict[str, str], field: str, message: str
) -> None:
    response = await client.get(AUDIT, params=query, headers=bearer(admin_token))
    body = await response.json()
    assert (response.status, body["field"]) == (400, field), body
    assert body["error"].startswith(message), body


async def test_a_viewer_cannot_read_the_audit_log(client: TestClient, viewer_token: str) -> None:
    assert (await client.get(AUDIT, headers=bearer(viewer_token))).status == 403


async def test_the_audit_log_needs_a_token(client: TestClient) -> None:
    assert (await client.get(AUDIT)).status == 401
