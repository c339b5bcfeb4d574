"""A job's ``group`` over REST: given on create, shown on the job, and a list and bulk filter."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import GEOCODING_FILTERS, bearer


async def create(client: TestClient, token: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, **fields}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(token))
    return response.status, await response.json()


async def test_a_job_created_with_a_group_shows_it_trimmed(client: TestClient, admin_token: str) -> None:
    status, body = await create(client, admin_token, group=" Durham County ")
    assert (status, body["job"]["group"]) == (201, "Durham County")


async def test_a_job_created_without_a_group_shows_null(client: TestClient, admin_token: str) -> None:
    _, body = await create(client, admin_token)
    assert body["job"]["group"] is None


@pytest.mark.parametrize("group", ["g" * 101, "line\nbreak", 7])
async def test_a_bad_group_is_400_naming_it(client: TestClient, admin_token: str, group: Any) -> None:
    status, body = await create(client, admin_token, group=group)
    assert (status, body["field"]) == (400, "group")


async def test_the_list_filters_by_group(client: TestClient, admin_token: str) -> None:
    _, durham = await create(client, admin_token, group="durham")
    await create(client, admin_token, group="wake")
    response = await client.get("/api/v1/jobs", params={"group": "durham"}, headers=bearer(admin_token))
    body = await response.json()
    assert ([j["id"] for j in body["jobs"]], body["total"]) == ([durham["job"]["id"]], 1)


async def test_a_bulk_action_filters_by_group(client: TestClient, admin_token: str) -> None:
    await create(client, admin_token, group="durham")
    _, wake = await create(client, admin_token, group="wake")
    response = await client.post(
        "/api/v1/jobs/bulk",
        json={"action": "cancel", "filter": {"group": "wake"}},
        headers=bearer(admin_token),
    )
    assert [r["id"] for r in (await response.json())["results"]] == [wake["job"]["id"]]
