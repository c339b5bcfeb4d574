"""Imports across a failing network: the importer's PostgreSQL connections reset, refused or gone
silent mid-job. Each job must finish with exact counts, as after a killed importer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy, ProxyStarter, through
from importer_system import ImportSystem, counts, start_system, until_processed
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.settings import Settings

ROWS = 3000
DONE = (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED, cpb.JOB_STATUS_CANCELLED)


@pytest.fixture
def database_link(fault_proxy: ProxyStarter, settings: Settings) -> FaultProxy:
    """The importer's way to PostgreSQL."""
    return fault_proxy(f"127.0.0.1:{settings.database_url.split(':')[-1].split('/')[0]}")


@pytest.fixture
async def system(
    settings: Settings, tmp_path: Path, database_link: FaultProxy
) -> AsyncIterator[ImportSystem]:
    """The coordinator reaches PostgreSQL directly; only the importer's link fails."""
    settings = settings.with_overrides(
        retry_backoff_s=0.3, max_attempts=5, stall_timeout_s=2.0, stop_grace_s=1.0
    )
    # A second, not a minute: the stuck attempt's transaction must end before the retry needs its rows.
    idle_limit = "?options=-c%20idle_in_transaction_session_timeout%3D1000"
    importer_url = through(settings.database_url, database_link) + idle_limit
    async for s in start_system(settings, tmp_path, importer_database_url=importer_url):
        yield s


async def _start_import(system: ImportSystem) -> str:
    system.importer.worker.handlers["voter_import"].batch_rows = 100  # type: ignore[attr-defined]
    data = encode(ncsbe_lines(sample_voters(ROWS, seed=5)))
    job_id = (await system.upload(data, filename="big.txt", format="ncsbe")).job_id
    await until_processed(system, job_id, 500)
    return job_id


async def _assert_exact(system: ImportSystem, job_id: str) -> cpb.Job:
    done = await system.wait(job_id, DONE, timeout=60)
    assert done.status == cpb.JOB_STATUS_COMPLETED, done.failure_reason
    assert (done.processed_items, done.failed_items) == (ROWS, 0)
    stats = json.loads(done.output_stats_json)
    assert stats["recordsCreated"] + stats["recordsUnchanged"] + stats["recordsUpdated"] == ROWS
    assert (await counts(system.settings.database_url))["voters"] == ROWS
    return done


async def test_an_import_whose_database_connections_are_reset_finishes_with_exact_counts(
    system: ImportSystem, database_link: FaultProxy
) -> None:
    job_id = await _start_import(system)
    database_link.sever()
    done = await _assert_exact(system, job_id)
    # Reset while a batch wrote: one transient retry. Reset between batches: the pool's pre-ping
    # noticed and reconnected, and the attempt went on.
    assert done.attempt == 1 or "transient failure" in done.failure_reason


async def test_an_import_outlasts_a_database_that_refuses_connections_for_a_while(
    system: ImportSystem, database_link: FaultProxy
) -> None:
    job_id = await _start_import(system)
    database_link.refuse()
    database_link.sever()
    await asyncio.sleep(1.0)
    database_link.heal()
    done = await _assert_exact(system, job_id)
    assert done.attempt >= 2


async def test_an_import_whose_database_goes_silent_is_requeued_and_finishes_once_it_answers(
    system: ImportSystem, database_link: FaultProxy
) -> None:
    job_id = await _start_import(system)
    database_link.blackhole()
    await asyncio.sleep(3.0)
    database_link.heal()
    done = await _assert_exact(system, job_id)
    assert done.attempt >= 2  # the stalled attempt was taken back (and perhaps one cut off at the heal)
