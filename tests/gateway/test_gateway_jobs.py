"""/api/v1/jobs against a real coordinator, PostgreSQL and in-process test workers."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import (
    GEOCODING_FILTERS,
    Sessions,
    WorkerFactory,
    add_user,
    bearer,
    create_job,
    delayed_job,
    fetch_job,
    parse_sse,
    wait_for_status,
)
from sqlalchemy import select
from yarl import URL

from cocoa_common.models import AuditLog

CONTRACT_KEYS = {
    "id",
    "type",
    "status",
    "totalItems",
    "processedItems",
    "data",
    "errorLog",
    "createdBy",
    "createdAt",
    "startedAt",
    "completedAt",
}
EXTRA_KEYS = {
    "progress",
    "failedItems",
    "isDynamic",
    "outputStats",
    "updatedAt",
    "attempt",
    "maxAttempts",
    "timeoutSeconds",
    "expiresAt",
    "cancelRequested",
    "etaSeconds",
    "failureReason",
    "retryOf",
    "priority",
    "group",
    "notBefore",
    "dependsOn",
    "waitingFor",
}


async def test_create_returns_201_with_the_contract_job_object(
    client: TestClient, admin: tuple[str, str]
) -> None:
    user_id, token = admin
    data = {**GEOCODING_FILTERS, "items": 3}
    response = await client.post(
        "/api/v1/jobs", json={"type": "geocode_households", "data": data}, headers=bearer(token)
    )
    assert response.status == 201
    body = await response.json()
    assert body["success"] is True
    job = body["job"]
    assert set(job) == CONTRACT_KEYS | EXTRA_KEYS
    assert job["type"] == "geocode_households"
    assert job["status"] == "pending"
    assert json.loads(job["data"]) == data
    assert job["createdBy"] == {"id": user_id, "email": "admin@example.com", "name": "Admin User"}
    assert job["createdAt"].endswith("Z")
    assert job["errorLog"] is None
    assert job["progress"] == 0
    assert job["etaSeconds"] is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "At least one filter must be provided"),
        ({"filters": {"city": "Durham"}, "limit": 0}, "limit"),
        ({"filters": {"zipCode": "ABCDE"}}, "zipCode must be a 5-digit ZIP code"),
        ('{"filters": {"state": "North Carolina"}}', "state must be a two-letter state code"),
        ({"filters": {"city": "Durham"}, "mode": "sometimes"}, "mode must be static or dynamic"),
    ],
)
async def test_create_refuses_geocoding_data_the_geocoding_route_would_refuse(
    client: TestClient, admin_token: str, data: object, message: str
) -> None:
    response = await client.post(
        "/api/v1/jobs", json={"type": "geocode_households", "data": data}, headers=bearer(admin_token)
    )
    assert response.status == 400
    assert message in (await response.json())["error"]
    listed = await (await client.get("/api/v1/jobs", headers=bearer(admin_token))).json()
    assert listed["total"] == 0


async def test_create_refuses_an_import_job_that_names_no_upload(
    client: TestClient, admin_token: str
) -> None:
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "voter_import", "data": {"path": "/etc/passwd", "format": "ncsbe"}},
        headers=bearer(admin_token),
    )
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "data.uploadId"
    assert "POST /api/v1/voters/import" in body["error"]
    listed = await (await client.get("/api/v1/jobs", headers=bearer(admin_token))).json()
    assert listed["total"] == 0


async def test_create_with_idempotency_key_returns_first_job_with_200(
    client: TestClient, admin_token: str
) -> None:
    headers = {**bearer(admin_token), "Idempotency-Key": "batch-7"}
    body = {"type": "geocoding", "data": GEOCODING_FILTERS}
    first = await client.post("/api/v1/jobs", json=body, headers=headers)
    second = await client.post("/api/v1/jobs", json=body, headers=headers)
    assert first.status == 201
    assert second.status == 200
    assert (await second.json())["job"]["id"] == (await first.json())["job"]["id"]


async def test_unknown_type_is_400_listing_known_types(client: TestClient, admin_token: str) -> None:
    response = await client.post("/api/v1/jobs", json={"type": "mine_bitcoin"}, headers=bearer(admin_token))
    assert response.status == 400
    body = await response.json()
    assert body["success"] is False
    assert "voter_import" in body["error"]
    assert "geocoding" in body["knownTypes"]


async def test_list_total_counts_all_matching_jobs(
    client: TestClient, admin_token: str, voter_upload: str
) -> None:
    for _ in range(3):
        await create_job(client, admin_token, "geocoding")
    await create_job(client, admin_token, "voter_import", uploadId=voter_upload)
    response = await client.get("/api/v1/jobs?type=geocode_households&limit=2", headers=bearer(admin_token))
    body = await response.json()
    assert body["success"] is True
    assert body["total"] == 3
    assert len(body["jobs"]) == 2
    assert (body["limit"], body["offset"]) == (2, 0)


async def test_list_is_newest_first(client: TestClient, admin_token: str) -> None:
    first = await create_job(client, admin_token)
    second = await create_job(client, admin_token)
    body = await (await client.get("/api/v1/jobs", headers=bearer(admin_token))).json()
    assert [j["id"] for j in body["jobs"]] == [second["id"], first["id"]]


async def test_list_filters_by_status(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    await create_job(client, admin_token)
    await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    body = await (await client.get("/api/v1/jobs?status=cancelled", headers=bearer(admin_token))).json()
    assert [j["id"] for j in body["jobs"]] == [job["id"]]
    assert body["total"] == 1


async def test_bad_status_filter_is_400_naming_status(client: TestClient, admin_token: str) -> None:
    response = await client.get("/api/v1/jobs?status=sleeping", headers=bearer(admin_token))
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "status"
    assert "status" in body["error"]


async def test_list_limit_over_200_is_400_naming_limit(client: TestClient, admin_token: str) -> None:
    response = await client.get("/api/v1/jobs?limit=201", headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["field"] == "limit"


async def test_unknown_job_is_404_with_success_false(client: TestClient, admin_token: str) -> None:
    response = await client.get("/api/v1/jobs/cnosuchjob000000000000000", headers=bearer(admin_token))
    assert response.status == 404
    assert await response.json() == {"success": False, "error": "Job not found"}


async def test_get_returns_the_bare_job(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token, items=4)
    response = await client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    body = await response.json()
    assert body["id"] == job["id"]
    assert "success" not in body


async def test_delete_cancels_a_pending_job(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    response = await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    assert response.status == 200
    assert await response.json() == {"success": True, "message": "Job cancelled successfully"}
    cancelled = await wait_for_status(client, admin_token, job["id"], "cancelled")
    assert cancelled["progress"] == 100
    assert cancelled["completedAt"] is not None


async def test_cancel_completed_job_is_400_with_status_in_message(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=2)
    await wait_for_status(client, admin_token, job["id"], "completed")
    response = await client.delete(f"/api/v1/jobs/{job['id']}", headers=bearer(admin_token))
    assert response.status == 400
    assert await response.json() == {"success": False, "error": "Cannot cancel job with status: completed"}


async def test_pause_and_resume_through_control(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    url = f"/api/v1/jobs/{job['id']}/control"
    paused = await client.post(url, json={"action": "pause"}, headers=bearer(admin_token))
    assert await paused.json() == {"success": True, "message": "Job paused"}
    assert (await wait_for_status(client, admin_token, job["id"], "paused"))["status"] == "paused"
    resumed = await client.post(url, json={"action": "resume"}, headers=bearer(admin_token))
    assert await resumed.json() == {"success": True, "message": "Job resumed"}
    await wait_for_status(client, admin_token, job["id"], "pending")


async def test_illegal_control_move_is_400_naming_status(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    url = f"/api/v1/jobs/{job['id']}/control"
    response = await client.post(url, json={"action": "resume"}, headers=bearer(admin_token))
    assert response.status == 400
    assert await response.json() == {"success": False, "error": "Cannot resume job with status: pending"}


async def test_invalid_control_action_is_400(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    response = await client.post(
        f"/api/v1/jobs/{job['id']}/control", json={"action": "explode"}, headers=bearer(admin_token)
    )
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "Invalid action. Expected pause, resume, or cancel."
    assert body["success"] is False


async def test_completed_job_reports_100_percent_progress(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=6, batch=2)
    await wait_for_status(client, admin_token, job["id"], "completed")
    response = await client.get(f"/api/v1/jobs/{job['id']}/progress", headers=bearer(admin_token))
    body = await response.json()
    assert body["success"] is True
    progress = body["progress"]
    assert (progress["status"], progress["percentage"]) == ("completed", 100)
    assert (progress["processedItems"], progress["totalItems"]) == (6, 6)
    assert progress["startedAt"] is not None
    assert progress["completedAt"] is not None


async def test_error_log_holds_item_errors_in_the_geocoding_shape(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=6, batch=3, fail_every=3)
    done = await wait_for_status(client, admin_token, job["id"], "completed")
    assert done["failedItems"] == 2
    log = json.loads(done["errorLog"])
    assert len(log) == 2
    assert set(log[0]) == {"householdId", "address", "error", "timestamp"}
    assert {entry["householdId"] for entry in log} == {"item-2", "item-5"}


async def test_listed_jobs_carry_their_error_log_too(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    failing = await create_job(client, admin_token, items=6, batch=3, fail_every=3)
    clean = await create_job(client, admin_token, items=2)
    fetched = await wait_for_status(client, admin_token, failing["id"], "completed")
    await wait_for_status(client, admin_token, clean["id"], "completed")
    response = await client.get("/api/v1/jobs", headers=bearer(admin_token))
    listed = {job["id"]: job for job in (await response.json())["jobs"]}
    assert listed[failing["id"]]["errorLog"] == fetched["errorLog"]
    assert listed[clean["id"]]["errorLog"] is None


async def test_import_error_log_uses_the_row_shape(
    client: TestClient, admin_token: str, start_worker: WorkerFactory, voter_upload: str
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, "voter_import", uploadId=voter_upload, items=3, fail_every=3)
    done = await wait_for_status(client, admin_token, job["id"], "completed")
    (entry,) = json.loads(done["errorLog"])
    assert entry["row"] == 2
    assert set(entry) == {"row", "field", "error", "timestamp"}


async def test_errors_are_paged_with_a_cursor(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=10, batch=5, fail_every=2)
    await wait_for_status(client, admin_token, job["id"], "completed")
    url = f"/api/v1/jobs/{job['id']}/errors"
    first = await (await client.get(f"{url}?limit=3", headers=bearer(admin_token))).json()
    assert first["total"] == 5
    assert len(first["errors"]) == 3
    second = await (
        await client.get(f"{url}?limit=3&cursor={first['nextCursor']}", headers=bearer(admin_token))
    ).json()
    assert len(second["errors"]) == 2
    assert second["nextCursor"] is None
    refs = [e["itemRef"] for e in first["errors"] + second["errors"]]
    assert refs == [f"item-{i}" for i in (1, 3, 5, 7, 9)]


async def test_errors_csv_download_contains_every_item_error(
    client: TestClient, admin_token: str, start_worker: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cocoa_gateway import item_errors

    monkeypatch.setattr(item_errors, "CSV_PAGE", 4)  # force several pages
    await start_worker()
    job = await create_job(client, admin_token, items=20, batch=10, fail_every=2)
    await wait_for_status(client, admin_token, job["id"], "completed")
    response = await client.get(
        f"/api/v1/jobs/{job['id']}/errors", headers={**bearer(admin_token), "Accept": "text/csv"}
    )
    assert response.status == 200
    assert response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["itemRef"] for r in rows] == [f"item-{i}" for i in range(1, 20, 2)]
    assert rows[0]["error"] == "item 1 is bad"


async def test_events_stream_ends_with_completed_and_resumes_after_last_event_id(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=6, batch=2, delay=0.05)
    url = f"/api/v1/jobs/{job['id']}/events"
    response = await client.get(url, headers=bearer(admin_token))
    assert response.content_type == "text/event-stream"
    events = parse_sse(await response.text())
    kinds = [e["event"] for e in events]
    assert kinds[0] == "created"
    assert kinds[-1] == "completed"
    assert events[-1]["data"]["status"] == "completed"
    middle = events[len(events) // 2]
    resumed = await client.get(url, headers={**bearer(admin_token), "Last-Event-ID": middle["id"]})
    later = parse_sse(await resumed.text())
    assert [e["id"] for e in later] == [e["id"] for e in events if int(e["id"]) > int(middle["id"])]


async def test_events_carry_the_error_log_like_a_fetched_job(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=6, batch=3, fail_every=3)
    response = await client.get(f"/api/v1/jobs/{job['id']}/events", headers=bearer(admin_token))
    events = parse_sse(await response.text())
    fetched = await wait_for_status(client, admin_token, job["id"], "completed")
    assert events[-1]["data"]["errorLog"] == fetched["errorLog"]


async def test_events_of_unknown_job_is_404_json(client: TestClient, admin_token: str) -> None:
    response = await client.get("/api/v1/jobs/cnosuchjob000000000000000/events", headers=bearer(admin_token))
    assert response.status == 404
    assert (await response.json())["error"] == "Job not found"


async def test_audit_log_records_create_and_cancel(
    client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    user_id, token = admin
    job = await create_job(client, token)
    await client.delete(
        f"/api/v1/jobs/{job['id']}", headers={**bearer(token), "X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    )
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars().all()
    assert [(r.action, r.resource, r.resource_id, r.user_id) for r in rows] == [
        ("create_job", "job", job["id"], user_id),
        ("cancel_job", "job", job["id"], user_id),
    ]
    assert rows[1].ip_address == "203.0.113.9"
    assert rows[0].ip_address == "127.0.0.1"
    assert rows[0].user_agent


async def test_data_that_is_not_a_json_object_is_400_naming_data(
    client: TestClient, admin_token: str
) -> None:
    response = await client.post(
        "/api/v1/jobs", json={"type": "geocoding", "data": "[1, 2"}, headers=bearer(admin_token)
    )
    assert response.status == 400
    body = await response.json()
    assert (body["success"], body["field"]) == (False, "data")


async def test_quiet_event_stream_sends_keepalive_comments(
    client: TestClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cocoa_gateway import sse

    monkeypatch.setattr(sse, "KEEPALIVE_S", 0.05)
    job = await create_job(client, admin_token)  # no worker: it stays pending and quiet
    async with client.get(f"/api/v1/jobs/{job['id']}/events", headers=bearer(admin_token)) as response:
        received = b""
        for _ in range(50):  # bounded: at most 50 reads of at most 1 s
            try:
                received += await asyncio.wait_for(response.content.readany(), timeout=1.0)
            except TimeoutError:
                continue  # a loaded machine: keep waiting, still bounded
            # A keepalive may come before the first event when that read is slow: wait for both.
            if b": keepalive" in received and b"event: created" in received:
                break
    assert b"event: created" in received
    assert b": keepalive" in received


async def test_list_filters_by_creator(
    client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    user_id, token = admin
    _, other_token = await add_user(sessions, "admin", email="other@example.com")
    mine = await create_job(client, token)
    await create_job(client, other_token)
    body = await (await client.get(f"/api/v1/jobs?createdById={user_id}", headers=bearer(token))).json()
    assert [j["id"] for j in body["jobs"]] == [mine["id"]]
    assert body["total"] == 1


@pytest.mark.parametrize("action", [{}, ["pause"], 1, None])
async def test_a_control_action_that_is_not_a_string_is_400(
    client: TestClient, admin_token: str, action: object
) -> None:
    job = await create_job(client, admin_token)
    response = await client.post(
        f"/api/v1/jobs/{job['id']}/control", json={"action": action}, headers=bearer(admin_token)
    )
    assert response.status == 400
    assert (await response.json())["error"] == "Invalid action. Expected pause, resume, or cancel."


@pytest.mark.parametrize("cursor", ["²", "-1", "x", str(2**63)])
async def test_an_error_cursor_that_was_never_returned_is_400(
    client: TestClient, admin_token: str, cursor: str
) -> None:
    job = await create_job(client, admin_token)
    response = await client.get(
        f"/api/v1/jobs/{job['id']}/errors", params={"cursor": cursor}, headers=bearer(admin_token)
    )
    assert response.status == 400
    assert (await response.json())["field"] == "cursor"


async def test_a_job_created_with_run_at_waits_and_says_until_when(
    client: TestClient, admin_token: str
) -> None:
    eastern = timezone(timedelta(hours=-5))
    run_at = (datetime.now(eastern) + timedelta(hours=2)).replace(microsecond=0)
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "geocoding", "data": GEOCODING_FILTERS, "runAt": run_at.isoformat()},
        headers=bearer(admin_token),
    )
    job = (await response.json())["job"]
    assert job["status"] == "pending"
    assert job["notBefore"] == run_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize(
    ("run_at", "message"),
    [
        ("tomorrow", "runAt must be an ISO-8601 time such as 2026-12-06T02:00:00Z"),
        ("2026-12-06T02:00:00", "runAt must give its time zone (Z or an offset such as -05:00)"),
        (42, "runAt must be a string"),
        ("0001-01-01T00:00:00+01:00", "runAt is out of range"),
    ],
)
async def test_a_bad_run_at_is_400_naming_it(
    client: TestClient, admin_token: str, run_at: object, message: str
) -> None:
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "geocoding", "data": GEOCODING_FILTERS, "runAt": run_at},
        headers=bearer(admin_token),
    )
    assert response.status == 400
    body = await response.json()
    assert (body["error"], body["field"]) == (message, "runAt")


async def test_a_job_created_with_depends_on_waits_and_names_what_it_waits_for(
    client: TestClient, admin_token: str
) -> None:
    first = await delayed_job(client, admin_token)
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "geocoding", "data": GEOCODING_FILTERS, "dependsOn": [first["id"]]},
        headers=bearer(admin_token),
    )
    assert response.status == 201
    job = (await response.json())["job"]
    assert (job["status"], job["dependsOn"], job["waitingFor"]) == ("pending", [first["id"]], [first["id"]])
    again = await fetch_job(client, admin_token, job["id"])
    assert again["waitingFor"] == [first["id"]]


async def test_a_job_waiting_for_a_cancelled_job_is_cancelled_with_the_reason(
    client: TestClient, admin_token: str
) -> None:
    first = await delayed_job(client, admin_token)
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "geocoding", "data": GEOCODING_FILTERS, "dependsOn": first["id"]},
        headers=bearer(admin_token),
    )
    job = (await response.json())["job"]
    await client.delete(f"/api/v1/jobs/{first['id']}", headers=bearer(admin_token))
    cancelled = await wait_for_status(client, admin_token, job["id"], "cancelled")
    assert cancelled["failureReason"] == f"Dependency {first['id']} cancelled"


async def test_a_depends_on_naming_no_job_is_400_naming_it(client: TestClient, admin_token: str) -> None:
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "geocoding", "data": GEOCODING_FILTERS, "dependsOn": ["cnosuchjob"]},
        headers=bearer(admin_token),
    )
    assert response.status == 400
    body = await response.json()
    assert (body["error"], body["field"]) == ("dependsOn names no job: 'cnosuchjob'", "dependsOn")


@pytest.mark.parametrize(
    ("depends_on", "message"),
    [
        (42, "dependsOn must be an array of job ids"),
        ([1, 2], "dependsOn must be an array of job ids"),
        ({"id": "x"}, "dependsOn must be an array of job ids"),
        (["c" * 33], "dependsOn holds a job id longer than 32 characters"),
    ],
)
async def test_a_malformed_depends_on_is_400_naming_it(
    client: TestClient, admin_token: str, depends_on: object, message: str
) -> None:
    response = await client.post(
        "/api/v1/jobs",
        json={"type": "geocoding", "data": GEOCODING_FILTERS, "dependsOn": depends_on},
        headers=bearer(admin_token),
    )
    assert response.status == 400
    body = await response.json()
    assert (body["error"], body["field"]) == (message, "dependsOn")


async def test_the_list_searches_the_jobs_input(client: TestClient, admin_token: str) -> None:
    durham = await create_job(client, admin_token, "geocoding", filters={"city": "Durham"})
    await create_job(client, admin_token, "geocoding", filters={"city": "Raleigh"})
    response = await client.get("/api/v1/jobs", params={"search": "durham"}, headers=bearer(admin_token))
    body = await response.json()
    assert (body["total"], [j["id"] for j in body["jobs"]]) == (1, [durham["id"]])


async def test_the_list_takes_a_creation_time_range(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    created = datetime.fromisoformat(job["createdAt"])
    after = (created - timedelta(seconds=1)).isoformat()
    before = (created - timedelta(milliseconds=1)).isoformat()
    inside = await client.get("/api/v1/jobs", params={"createdAfter": after}, headers=bearer(admin_token))
    assert (await inside.json())["total"] == 1
    outside = await client.get("/api/v1/jobs", params={"createdBefore": before}, headers=bearer(admin_token))
    assert (await outside.json())["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [({"search": "x" * 201}, "search"), ({"createdAfter": "yesterday"}, "createdAfter"),
     ({"createdBefore": "2026-12-01T00:00:00"}, "createdBefore")],
)  # fmt: skip
async def test_a_bad_search_or_time_is_400_naming_it(
    client: TestClient, admin_token: str, query: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/jobs", params=query, headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["field"] == field


@pytest.mark.parametrize(
    ("raw_query", "field"),
    [("search=caf%E9", "search"), ("status=pending&search=%FF%FE", "search"), ("caf%E9=x", "caf\ufffd")],
)
async def test_a_query_parameter_that_is_not_utf8_is_400_naming_it(
    client: TestClient, admin_token: str, raw_query: str, field: str
) -> None:
    response = await client.get(URL(f"/api/v1/jobs?{raw_query}", encoded=True), headers=bearer(admin_token))
    assert response.status == 400
    assert await response.json() == {"success": False, "error": f"{field} must be UTF-8 text", "field": field}
