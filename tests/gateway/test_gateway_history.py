"""GET /api/v1/jobs/{id}/history against a real coordinator and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from gateway_helpers import WorkerFactory, bearer, create_job, delayed_job, wait_for_status

EVENT_KEYS = {"id", "kind", "at", "detail", "by"}


async def history(client: TestClient, token: str, job_id: str, query: str = "") -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/api/v1/jobs/{job_id}/history{query}", headers=bearer(token))
    return response.status, await response.json()


async def test_the_history_lists_the_job_s_events_oldest_first_with_who_asked(
    client: TestClient, admin: tuple[str, str]
) -> None:
    user_id, token = admin
    job = await delayed_job(client, token)
    await client.post(f"/api/v1/jobs/{job['id']}/control", json={"action": "pause"}, headers=bearer(token))
    status, body = await history(client, token, job["id"])
    assert (status, body["success"], body["jobId"], body["truncated"]) == (200, True, job["id"], False)
    assert [e["kind"] for e in body["events"]] == ["created", "paused"]
    assert all(set(e) == EVENT_KEYS for e in body["events"])
    assert body["events"][1]["by"] == {"id": user_id, "email": "admin@example.com", "name": "Admin User"}
    assert body["events"][0]["detail"].startswith("not before ")


async def test_a_finished_run_shows_its_worker_and_counts(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    job = await create_job(client, admin_token, items=3)
    await wait_for_status(client, admin_token, job["id"], "completed")
    _, body = await history(client, admin_token, job["id"])
    assert [e["kind"] for e in body["events"]] == ["created", "started", "completed"]
    assert body["events"][2]["detail"] == "3 items processed, 0 failed"
    assert body["events"][1]["by"] is None


async def test_a_viewer_may_read_the_history(client: TestClient, admin_token: str, viewer_token: str) -> None:
    job = await create_job(client, admin_token)
    status, _ = await history(client, viewer_token, job["id"])
    assert status == 200


async def test_the_limit_keeps_the_latest_events(client: TestClient, admin_token: str) -> None:
    job = await delayed_job(client, admin_token)
    await client.post(f"/api/v1/jobs/{job['id']}/priority", json={"priority": 3}, headers=bearer(admin_token))
    _, body = await history(client, admin_token, job["id"], "?limit=1")
    assert ([e["kind"] for e in body["events"]], body["truncated"]) == (["reprioritized"], True)
    assert body["events"][0]["detail"] == "priority 0 → 3"


async def test_a_bad_limit_is_400_naming_it(client: TestClient, admin_token: str) -> None:
    job = await create_job(client, admin_token)
    status, body = await history(client, admin_token, job["id"], "?limit=501")
    assert (status, body["field"]) == (400, "limit")


async def test_the_history_of_an_unknown_job_is_404(client: TestClient, admin_token: str) -> None:
    status, body = await history(client, admin_token, "cnosuchjob")
    assert (status, body["error"]) == (404, "Job not found")
