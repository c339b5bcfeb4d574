"""``make run``'s embedded default: the same import and geocoding jobs on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from importer_system import ImportSystem, counts, start_system
from voterfiles import encode, ncsbe_lines, sample_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.migrate import upgrade
from cocoa_common.settings import Settings
from cocoa_geocoder.server import start_geocoder


@pytest.fixture
async def sqlite_system(tmp_path: Path) -> AsyncIterator[ImportSystem]:
    url = f"sqlite:///{tmp_path / 'cocoa.db'}"
    upgrade(url)
    settings = Settings.from_env({}).with_overrides(
        database_url=url, heartbeat_interval_s=0.5, progress_flush_s=0.2, geocoder_providers=("zip_centroid",)
    )
    async for system in start_system(settings, tmp_path):
        yield system


async def test_sqlite_imports_voters_and_geocodes_their_households(sqlite_system: ImportSystem) -> None:
    voters = sample_voters(400, seed=2)
    job = await sqlite_system.run(encode(ncsbe_lines(voters)), filename="nc.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (400, 0)
    again = await sqlite_system.run(encode(ncsbe_lines(voters)), filename="nc.txt", format="ncsbe")
    assert json.loads(again.output_stats_json)["recordsCreated"] == 0
    households = (await counts(sqlite_system.settings.database_url))["households"]
    geocoder = await start_geocoder(sqlite_system.settings, "127.0.0.1:0")
    try:
        await asyncio.wait_for(geocoder.worker.connected.wait(), 5)
        created = await sqlite_system.jobs.CreateJob(
            cpb.CreateJobRequest(type="geocoding", data_json='{"filters": {"state": "NC"}}')
        )
        done = await sqlite_system.wait(created.job.id, (cpb.JOB_STATUS_COMPLETED,))
        assert done.processed_items == households
    finally:
        await geocoder.stop(grace=0.5)
