"""A job backing off after a transient failure, as the REST API shows it."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import WorkerFactory, create_job, fetch_job

from cocoa_common.settings import Settings
from cocoa_common.worker import JobContext, Transient


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(retry_backoff_s=30.0)  # long enough to look at it waiting


async def service_down(ctx: JobContext) -> None:
    raise Transient("the geocoding service is down")


async def test_a_job_backing_off_says_when_it_runs_again_and_why(
    client: TestClient, admin_token: str, start_worker: WorkerFactory
) -> None:
    await start_worker({"geocoding": service_down})
    job = await create_job(client, admin_token)
    for _ in range(200):  # bounded: 200 × 0.025 s
        job = await fetch_job(client, admin_token, job["id"])
        if job["attempt"] == 2:
            break
        await asyncio.sleep(0.025)
    assert (job["status"], job["attempt"]) == ("pending", 2)
    assert (
        job["failureReason"]
        == "transient failure, retried after 30s: Transient: the geocoding service is down"
    )
    waited = datetime.fromisoformat(job["notBefore"]) - datetime.fromisoformat(job["updatedAt"])
    assert waited.total_seconds() == pytest.approx(30, abs=1)
