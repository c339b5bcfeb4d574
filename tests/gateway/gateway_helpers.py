"""Helpers for gateway tests: tokens, polling, SSE parsing, seeding households."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.ids import utcnow
from cocoa_common.models import Household
from cocoa_common.worker import WorkerRuntime
from cocoa_gateway.auth import generate_token, hash_token
from cocoa_gateway.repository import GatewayRepository

Sessions = async_sessionmaker[AsyncSession]
ClientFactory = Callable[..., Awaitable[TestClient]]
WorkerFactory = Callable[..., Awaitable[WorkerRuntime]]
TERMINAL = ("completed", "failed", "cancelled")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def add_user(
    sessions: Sessions,
    role: str = "admin",
    *,
    email: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    """A user with one API token: (user id, token)."""
    token = generate_token()
    async with sessions.begin() as session:
        repo = GatewayRepository(session)
        user = await repo.create_user(
            email or f"{role}-{token[-8:]}@example.com", f"{role.title()} User", role
        )
        await repo.create_token(user.id, hash_token(token), expires_at)
    return user.id, token


async def create_job(
    client: TestClient, token: str, job_type: str = "geocoding", **data: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/jobs", json={"type": job_type, "data": data}, headers=bearer(token))
    assert response.status == 201, await response.text()
    return (await response.json())["job"]


async def wait_for_status(
    client: TestClient, token: str, job_id: str, *statuses: str, timeout: float = 10.0
) -> dict[str, Any]:
    """Poll GET /jobs/{id} until the job is in one of ``statuses`` (bounded in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        response = await client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token))
        job = await response.json()
        if job["status"] in statuses:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}; last: {job['status']}")


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events of an SSE body as ``{"id", "event", "data"}``; comments and retry lines are skipped."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "event" in fields:
            fields["data"] = json.loads(fields["data"])
            events.append(fields)
    return events


def household(key: str, **fields: Any) -> Household:
    """A household row; city/state are stored upper case, as the importer writes them."""
    now = utcnow()
    values: dict[str, Any] = {
        "household_key": key,
        "location_key": key,
        "house_number": "1",
        "street_name": "MAIN",
        "suffix": "ST",
        "city": "OAKLAND",
        "state": "CA",
        "zip_code": "94612",
        "county": "ALAMEDA",
        "precinct": "101",
        "full_address": f"1 MAIN ST {key}, OAKLAND, CA 94612",
        "person_count": 2,
        "geocoded": False,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return Household(**values)


async def seed_households(sessions: Sessions, rows: Iterable[Household]) -> None:
    async with sessions.begin() as session:
        session.add_all(list(rows))


def only(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: mapping.get(key) for key in keys}
