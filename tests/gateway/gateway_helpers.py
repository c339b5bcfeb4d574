"""Helpers for gateway tests: tokens, polling, SSE parsing, seeding households, upload forms."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import jobtypes as jt
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import Household
from cocoa_common.worker import WorkerRuntime
from cocoa_gateway.auth import issue_token
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
    async with sessions.begin() as session:
        repo = GatewayRepository(session)
        user = await repo.create_user(email or f"{role}-{new_id()}@example.com", f"{role.title()} User", role)
        token = await issue_token(repo, user.id, expires_at)
    return user.id, token


# What a geocoding job needs to pass validation; the test workers (counting_handler) ignore it.
GEOCODING_FILTERS = {"filters": {"city": "Durham"}}


async def create_job(
    client: TestClient, token: str, job_type: str = "geocoding", **data: Any
) -> dict[str, Any]:
    if jt.canonical(job_type) == jt.GEOCODING:
        data = {**GEOCODING_FILTERS, **data}
    response = await client.post("/api/v1/jobs", json={"type": job_type, "data": data}, headers=bearer(token))
    assert response.status == 201, await response.text()
    return (await response.json())["job"]


async def delayed_job(client: TestClient, token: str) -> dict[str, Any]:
    """A geocoding job that stays pending for an hour (created with runAt), so nothing runs it."""
    run_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"type": "geocoding", "data": GEOCODING_FILTERS, "runAt": run_at}
    response = await client.post("/api/v1/jobs", json=body, headers=bearer(token))
    assert response.status == 201, await response.text()
    return (await response.json())["job"]


async def fetch_job(client: TestClient, token: str, job_id: str) -> dict[str, Any]:
    """``GET /api/v1/jobs/{id}``'s job."""
    response = await client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token))
    assert response.status == 200, await response.text()
    return await response.json()


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


def upload_form(
    filename: str | None,
    data: bytes = b"",
    before: Mapping[str, str] | None = None,
    after: Mapping[str, str] | None = None,
) -> FormData:
    """A multipart form: the ``before`` fields, the ``file`` part (none when filename is None), then
    the ``after`` fields, in that order on the wire."""
    form = FormData()
    for name, value in (before or {}).items():
        form.add_field(name, value)
    if filename is not None:
        form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    for name, value in (after or {}).items():
        form.add_field(name, value)
    return form


BOUNDARY = "cocoa-test-boundary"


def multipart_bytes(filename: str, data: bytes, fields: Mapping[str, str | bytes]) -> tuple[bytes, bytes]:
    """(everything up to and including the file's bytes, the rest) of a form with ``fields`` first
    (a ``bytes`` value goes on the wire as it is, in whatever encoding)."""
    head = b""
    for name, value in fields.items():
        raw = value if isinstance(value, bytes) else value.encode()
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + raw + b"\r\n"
        )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data, f"\r\n--{BOUNDARY}--\r\n".encode()


async def chunked(
    pieces: Iterable[bytes], *, before_each: Callable[[int], Awaitable[None]] | None = None
) -> AsyncIterator[bytes]:
    """A request body sent with chunked encoding (no Content-Length), piece by piece."""
    for index, piece in enumerate(pieces):
        if before_each is not None:
            await before_each(index)
        yield piece


async def eventually(check: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition") -> None:
    """Wait (bounded in time) until ``check()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        await asyncio.sleep(0.02)
