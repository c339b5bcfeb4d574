"""Geocoding while Redis, which holds the providers' shared rate limits, is refused or silent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from faultproxy import FaultProxy, ProxyStarter, through
from geocoder_fakes import REDIS_URL, FakeService
from geocoder_system import Services, run_job, start_services
from household_seed import seed_households

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.settings import ProviderSettings, Settings

HOUSEHOLDS = [("100 Main St", "Raleigh", "NC", "27601", "Wake", "01-01")]


@pytest.fixture
def redis_link(fault_proxy: ProxyStarter) -> FaultProxy:
    return fault_proxy("127.0.0.1:6379")


@pytest.fixture
async def limited(
    settings: Settings, census_fake: FakeService, redis_link: FaultProxy
) -> AsyncIterator[Services]:
    """Census behind a shared limit of 50 lookups a second, kept in Redis through the faulty link."""
    census = ProviderSettings(
        census_fake.base_url, timeout_s=2.0, batch_timeout_s=2.0, batch_size=3, rate_per_s=50
    )
    async for s in start_services(
        settings.with_overrides(retry_backoff_s=0.3, max_attempts=6),
        census=census,
        geocoder_providers=("census",),
        redis_url=through(REDIS_URL, redis_link),
    ):
        yield s


def _refuse(link: FaultProxy) -> None:
    link.refuse()
    link.sever()


@pytest.mark.parametrize("fault", [_refuse, FaultProxy.blackhole], ids=["refused", "silent"])
async def test_a_geocode_through_a_redis_outage_is_retried_and_completes(
    limited: Services, census_fake: FakeService, redis_link: FaultProxy, fault: Callable[[FaultProxy], None]
) -> None:
    census_fake.control.add_place("100 MAIN ST", 35.77, -78.64)
    await seed_households(limited.settings.database_url, HOUSEHOLDS)
    fault(redis_link)
    job_task = asyncio.create_task(run_job(limited, {"filters": {"city": "Raleigh"}}, timeout=60))
    await _first_attempt_lost(limited)  # however slow the machine, the outage is met before it ends
    redis_link.heal()
    job = await job_task
    assert (job.status, job.processed_items) == (cpb.JOB_STATUS_COMPLETED, 1)
    assert job.attempt >= 2  # retried after the outage, not failed by it


async def _first_attempt_lost(s: Services) -> None:
    """Wait (at most 30 s) until the only job has been requeued by a transient failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        jobs = (await s.jobs.ListJobs(cpb.ListJobsRequest(limit=1))).jobs
        if jobs and jobs[0].attempt >= 2:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the job never met the Redis outage")
