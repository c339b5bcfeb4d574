"""Hostile input, seeded, on every JSON and query route: the answer is a JSON error the client can
act on (or a success), never a 500 and never an HTML page."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import bearer, create_job

NASTY: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 1e308, -0.0, 3.5, "", " ", "x" * 5000, "\u0000",
    "\ud7ff\ue000", "' OR 1=1 --", "2026-12-06T02:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "<script>alert(1)</script>", "../../etc/passwd", "NaN", "Infinity",
    "27701", "NC", "Durham", "geocoding", "pause", "local", "static", "dynamic", [], [1, "a", None],
    {}, {"nested": {"deeper": [{}]}}, "²", "١٢", "1_000", " 7 ", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809", "\u202e", "%00", "true", "1e3",
]  # fmt: skip
# What every route that creates a job takes besides its own input.
JOB_OPTION_KEYS = ["runAt", "expiresAt", "dependsOn", "priority", "maxAttempts", "timeoutSeconds", "group"]
KEYS = {
    "/api/v1/jobs": ["type", "data", "isDynamic", *JOB_OPTION_KEYS],
    "/api/v1/jobs/geocoding": ["filters", "limit", "skipGeocoded", "providerId", "mode", *JOB_OPTION_KEYS],
    "/api/v1/jobs/{id}/control": ["action"],
    "/api/v1/jobs/{id}/priority": ["priority"],
    "/api/v1/queues/geocoding/concurrency": ["concurrency"],
    "/api/v1/groups/pause": ["group"],
    "/api/v1/groups/resume": ["group"],
    "/api/v1/workers/{id}/drain": [],  # takes no body
    "/api/v1/jobs/{id}/promote": [],
    "/api/v1/jobs/{id}/retry": ["fromCheckpoint", "maxAttempts", "timeoutSeconds"],
    "/api/v1/jobs/bulk": ["action", "ids", "filter", "limit", "fromCheckpoint"],
    "/api/v1/schedules": [
        "name",
        "cron",
        "timezone",
        "type",
        "data",
        "isDynamic",
        "priority",
        "maxAttempts",
        "timeoutSeconds",
        "expiresAfterSeconds",
        "group",
    ],
    "/api/v1/gis/geocode": ["addresses", "providerId"],
    "/api/v1/gis/parcels/import": [
        "data",
        "format",
        "priority",
        "maxAttempts",
        "timeoutSeconds",
        "expiresAt",
        "group",
    ],
}
QUERIES = {
    "/api/v1/jobs": ["status", "type", "createdById", "limit", "offset", "search", "createdAfter", "createdBefore", "group"],
    "/api/v1/gis/households": ["search", "city", "state", "zipCode", "geocoded", "limit", "offset"],
    "/api/v1/gis/parcels": ["search", "apn", "zipCode", "limit", "offset"],
    "/api/v1/jobs/{id}/errors": ["limit", "cursor", "format"],
    "/api/v1/jobs/{id}/history": ["limit"],
    "/api/v1/tokens": ["userId"],
    "/api/v1/voters": ["search", "householdId", "source", "addressFlag", "zipCode", "limit", "offset"],
    "/api/v1/audit-logs": ["action", "userId", "resource", "resourceId", "createdAfter", "createdBefore",
                           "limit", "offset"],
    "/api/v1/gis/households/geocode": ["city", "state", "zipCode", "county", "precinctNumber", "limit",
                                       "providerId", "skipGeocoded", *JOB_OPTION_KEYS],
}  # fmt: skip
FILTER_KEYS = ["city", "state", "zipCode", "county", "precinctNumber", "unknown"]


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return {k: hostile_value(rng, depth + 1) for k in rng.sample(FILTER_KEYS, rng.randint(0, 3))}
    if depth < 2 and roll < 0.25:
        return [hostile_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(NASTY)


def hostile_body(rng: random.Random, keys: list[str]) -> bytes:
    roll = rng.random()
    if roll < 0.1:  # not JSON at all, or not UTF-8
        return rng.choice(
            [
                b"{",
                b"[1,",
                b"\xff\xfe{}",
                b"null",
                b"42",
                b'"text"',
                b"{}" * 1000,
                b"[" * 100_000,
                b'{"a":' * 50_000,
            ]
        )
    if roll < 0.2:
        return json.dumps(hostile_value(rng)).encode()
    body = {k: hostile_value(rng) for k in rng.sample(keys, rng.randint(0, len(keys)))}
    return json.dumps(body).encode()


def hostile_text(rng: random.Random) -> str:
    """A query value. Kept short: a request line over 8 KiB is refused by aiohttp's HTTP parser
    itself (400, plain text), before any route sees it."""
    value = rng.choice(NASTY)
    return (value if isinstance(value, str) else json.dumps(value))[:1000]


async def assert_answered(response: Any) -> None:
    assert response.status < 500 or response.status == 503, f"{response.status}: {await response.text()}"
    assert response.content_type == "application/json"
    body = await response.json()
    if response.status >= 400:
        assert isinstance(body, dict)
        assert isinstance(body.get("error"), str)
        assert body["error"]


@pytest.mark.parametrize("route", list(KEYS))
async def test_hostile_json_bodies_get_json_answers(client: TestClient, admin_token: str, route: str) -> None:
    job = await create_job(client, admin_token)
    path = route.replace("{id}", job["id"])
    rng = random.Random(route)
    headers = {**bearer(admin_token), "Content-Type": "application/json"}
    for _ in range(40):
        response = await client.post(path, data=hostile_body(rng, KEYS[route]), headers=headers)
        await assert_answered(response)


@pytest.mark.parametrize("route", list(QUERIES))
async def test_hostile_query_strings_get_json_answers(
    client: TestClient, admin_token: str, route: str
) -> None:
    job = await create_job(client, admin_token)
    path = route.replace("{id}", job["id"])
    method = client.post if route.endswith("/geocode") else client.get
    rng = random.Random(route)
    for _ in range(40):
        names = rng.sample(QUERIES[route], rng.randint(1, len(QUERIES[route])))
        params = {name: hostile_text(rng) for name in names}
        response = await method(path, params=params, headers=bearer(admin_token))
        if response.content_type == "text/csv":
            assert response.status == 200
            continue
        await assert_answered(response)
