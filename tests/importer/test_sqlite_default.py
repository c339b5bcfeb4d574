"""``make run``'s embedded default: the same import and geocoding jobs on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from importer_system import ImportSystem, counts, start_system
from parcel_samples import csv_bytes
from voterfiles import encode, ncsbe_lines, sample_voters, with_changes

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb
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


async def test_sqlite_links_households_to_parcels_from_either_side(sqlite_system: ImportSystem) -> None:
    base = sample_voters(1, seed=5)[0]
    first, second = (
        with_changes(base, voter_id=str(n), house_number=str(n), predir="", street_name="OAK",
                     street_type="ST", unit_type="", unit="", city="DURHAM", zip_code="27701")
        for n in (10, 12)
    )  # fmt: skip
    parcels = csv_bytes(
        ["APN", "SITUS", "ZIP", "LAT", "LON"],
        [
            ["P10", "10 OAK ST", "27701", "35.99", "-78.9"],
            ["P12", "12 OAK STREET", "27701", "35.99", "-78.9"],
        ],
    )
    await sqlite_system.run(encode(ncsbe_lines([first])), filename="a.txt", format="ncsbe")
    linked = await sqlite_system.run(parcels, filename="p.csv", format="csv", kind="parcel_import")
    assert json.loads(linked.output_stats_json)["householdsLinked"] == 1
    later = await sqlite_system.run(encode(ncsbe_lines([first, second])), filename="b.txt", format="ncsbe")
    assert json.loads(later.output_stats_json)["householdsLinkedToParcels"] == 1
    page = await sqlite_system.uploads.ListParcels(ipb.ListParcelsRequest(limit=10))
    assert {p.apn: p.household_count for p in page.parcels} == {"P10": 1, "P12": 1}


async def test_sqlite_reimported_parcels_count_as_updated(sqlite_system: ImportSystem) -> None:
    parcels = csv_bytes(["APN", "SITUS", "ZIP"], [["P1", "1 OAK ST", "27701"], ["P2", "2 OAK ST", "27701"]])
    await sqlite_system.run(parcels, filename="p.csv", format="csv", kind="parcel_import")
    again = await sqlite_system.run(parcels, filename="p.csv", format="csv", kind="parcel_import")
    stats = json.loads(again.output_stats_json)
    assert (stats["parcelsCreated"], stats["parcelsUpdated"]) == (0, 2)


async def test_sqlite_reports_a_duplicate_apn_with_its_first_item(sqlite_system: ImportSystem) -> None:
    parcels = csv_bytes(["APN", "SITUS", "ZIP"], [["P1", "1 OAK ST", "27701"], ["P1", "2 OAK ST", "27701"]])
    job = await sqlite_system.run(parcels, filename="p.csv", format="csv", kind="parcel_import")
    assert (job.processed_items, job.failed_items) == (1, 1)
    page = await sqlite_system.jobs.ListItemErrors(cpb.ListItemErrorsRequest(job_id=job.id))
    assert [e.message for e in page.errors] == ["duplicate APN 'P1' in this file; first seen at item 2"]
