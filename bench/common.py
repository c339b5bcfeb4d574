"""Shared plumbing for the benchmarks: a fresh PostgreSQL database, the services as processes, a token."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from cocoa_common import db
from cocoa_common.migrate import upgrade
from cocoa_gateway.auth import issue_token
from cocoa_gateway.repository import GatewayRepository
from cocoa_jobs.supervisor import Addresses, Supervisor, free_port

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def database_url(name: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new, migrated database, dropped afterwards."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin_token(url: str) -> str:
    async def create() -> str:
        engine = db.create_engine(url)
        try:
            async with db.session_factory(engine).begin() as session:
                repo = GatewayRepository(session)
                user = await repo.create_user("bench@cocoa.local", "Bench", "admin")
                return await issue_token(repo, user.id)
        finally:
            await engine.dispose()

    return asyncio.run(create())


@contextmanager
def running_system(url: str, services: tuple[str, ...], **env: str) -> Iterator[tuple[Addresses, Supervisor]]:
    """The services as separate processes, as in production, on free loopback ports."""
    addresses = Addresses("127.0.0.1", free_port(), free_port(), free_port(), free_port())
    full_env = dict(
        os.environ, DATABASE_URL=url, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1", **addresses.env(), **env
    )
    os.makedirs("var/bench", exist_ok=True)
    supervisor = Supervisor(full_env, log_dir="var/bench", services=services)
    supervisor.start()
    try:
        yield addresses, supervisor
    finally:
        supervisor.stop()


def call(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for_job(base: str, token: str, job_id: str, statuses: tuple[str, ...], timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, job = call(base, token, "GET", f"/api/v1/jobs/{job_id}")
        if job["status"] in statuses:
            return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} did not reach {statuses}")


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process, with those of the children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes. Backends that have exited
    count too, through the postmaster's reaped children; NaN when no server runs here."""
    total, found = 0.0, False
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                total += process_cpu_seconds(int(proc.name))
                found = True
        except OSError:
            continue  # the process ended while we looked
    return total if found else float("nan")


def bench_line(name: str, value: float, unit: str, floor: float, ratio: float) -> str:
    return f"BENCH {name} value={value:.6g} unit={unit} floor={floor:.6g} ratio={ratio:.3f}"
