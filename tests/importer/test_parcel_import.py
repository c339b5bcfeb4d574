"""Parcel imports through the real importer: upsert by (source, APN), linking to households by address."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from importer_system import ImportSystem, stop_midway, table_rows, until_processed
from parcel_samples import collection, csv_bytes, feature, geojson_bytes, polygon, square
from sqlalchemy import text
from voterfiles import encode, ncsbe_lines, sample_voters, with_changes

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_common import db
from cocoa_common.models import Household, Parcel
from cocoa_importer.repository import PARCEL_COLUMNS, Duplicate, ImportRepository, parcel_match

BASE = sample_voters(1, seed=5)[0]
RESIDENTS = [
    with_changes(BASE, voter_id="1", house_number="10", predir="", street_name="OAK", street_type="ST",
                 unit_type="APT", unit="1", city="DURHAM", zip_code="27701"),
    with_changes(BASE, voter_id="2", house_number="10", predir="", street_name="OAK", street_type="ST",
                 unit_type="APT", unit="2", city="DURHAM", zip_code="27701"),
    with_changes(BASE, voter_id="3", house_number="12", predir="", street_name="OAK", street_type="ST",
                 unit_type="", unit="", city="DURHAM", zip_code="27701"),
    # Same street and number in another ZIP: must not link to the 27701 parcel.
    with_changes(BASE, voter_id="4", house_number="12", predir="", street_name="OAK", street_type="ST",
                 unit_type="", unit="", city="MEBANE", zip_code="27302"),
]  # fmt: skip


def parcels_geojson() -> bytes:
    return geojson_bytes(
        collection(
            [
                feature({"APN": "100-1", "SITUS": "10 Oak Street", "SITUS_ZIP": "27701", "UNITS": "2"},
                        polygon(square(-78.90, 35.99, 0.001))),
                feature({"APN": "100-2", "SITUS": "12 OAK ST", "SITUS_ZIP": "27701"},
                        polygon(square(-78.91, 35.99, 0.001))),
                feature({"APN": "100-3", "SITUS": "99 PINE ST", "SITUS_ZIP": "27701"},
                        polygon(square(-78.92, 35.99, 0.001))),
                feature({"APN": "100-1", "SITUS": "10 OAK ST", "SITUS_ZIP": "27701"}, None),
                feature({"SITUS": "1 NOWHERE"}, None),
            ]
        ),
        bom=True,
    )  # fmt: skip


async def seed_residents(system: ImportSystem) -> cpb.Job:
    job = await system.run(encode(ncsbe_lines(RESIDENTS)), filename="nc.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED
    return job


async def seed_parcels(system: ImportSystem, data: bytes | None = None, fmt: str = "geojson") -> cpb.Job:
    job = await system.run(
        data or parcels_geojson(), filename=f"parcels.{fmt}", format=fmt, kind="parcel_import"
    )
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    return job


async def parcel_of_each_household(system: ImportSystem) -> dict[tuple[str, str, str], str | None]:
    """(house number, ZIP, unit) -> APN of the linked parcel."""
    apns = {p.id: p.apn for p in await table_rows(system.settings.database_url, Parcel)}
    households = await table_rows(system.settings.database_url, Household)
    return {(h.house_number, h.zip_code, h.unit): apns.get(h.parcel_id) for h in households}


async def test_parcels_are_upserted_and_linked_to_households_in_the_same_zip(system: ImportSystem) -> None:
    await seed_residents(system)
    job = await system.run(parcels_geojson(), filename="parcels.geojson", format="", kind="parcel_import")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (3, 2)
    stats = json.loads(job.output_stats_json)
    assert (stats["parcelsCreated"], stats["householdsLinked"], stats["parcelsUnmatched"]) == (3, 3, 1)
    parcels = {p.apn: p for p in await table_rows(system.settings.database_url, Parcel)}
    assert abs(parcels["100-1"].centroid_longitude - (-78.8995)) < 1e-9
    assert await parcel_of_each_household(system) == {
        ("10", "27701", "1"): "100-1",
        ("10", "27701", "2"): "100-1",
        ("12", "27701", ""): "100-2",
        ("12", "27302", ""): None,
    }


async def test_households_created_after_the_parcels_are_linked_by_the_voter_import(
    system: ImportSystem,
) -> None:
    await seed_parcels(system)
    job = await seed_residents(system)
    stats = json.loads(job.output_stats_json)
    assert (stats["householdsCreated"], stats["householdsLinkedToParcels"]) == (4, 3)
    assert await parcel_of_each_household(system) == {
        ("10", "27701", "1"): "100-1",
        ("10", "27701", "2"): "100-1",
        ("12", "27701", ""): "100-2",
        ("12", "27302", ""): None,
    }


async def test_reimporting_voters_leaves_their_households_links_alone(system: ImportSystem) -> None:
    await seed_residents(system)
    await seed_parcels(system)
    again = await seed_residents(system)
    stats = json.loads(again.output_stats_json)
    assert (stats["householdsCreated"], stats["householdsLinkedToParcels"]) == (0, 0)
    assert list((await parcel_of_each_household(system)).values()).count(None) == 1


async def test_a_reimported_parcel_whose_situs_moved_lets_go_of_its_old_households(
    system: ImportSystem,
) -> None:
    await seed_residents(system)
    await seed_parcels(system)
    moved = parcels_geojson().replace(b'"12 OAK ST"', b'"14 OAK ST"')
    again = await seed_parcels(system, moved)
    stats = json.loads(again.output_stats_json)
    assert (stats["householdsLinked"], stats["parcelsUnmatched"]) == (2, 2)
    assert (await parcel_of_each_household(system))[("12", "27701", "")] is None


async def test_listed_parcels_count_the_households_linked_to_them(system: ImportSystem) -> None:
    await seed_residents(system)
    await seed_parcels(system)
    page = await system.uploads.ListParcels(ipb.ListParcelsRequest(zip_code="27701", limit=10))
    assert {p.apn: p.household_count for p in page.parcels} == {"100-1": 2, "100-2": 1, "100-3": 0}


async def test_a_duplicate_apn_in_a_file_is_an_item_error_not_a_crash(system: ImportSystem) -> None:
    job = await system.run(
        parcels_geojson(), filename="parcels.geojson", format="geojson", kind="parcel_import"
    )
    page = await system.jobs.ListItemErrors(cpb.ListItemErrorsRequest(job_id=job.id))
    reasons = {json.loads(e.detail_json)["row"]: e.message for e in page.errors}
    assert "duplicate" in reasons[4].lower()
    assert reasons[5]


async def test_reimporting_parcels_updates_instead_of_duplicating(system: ImportSystem) -> None:
    await system.run(parcels_geojson(), filename="parcels.geojson", format="geojson", kind="parcel_import")
    again = await system.run(
        parcels_geojson(), filename="parcels.geojson", format="geojson", kind="parcel_import"
    )
    stats = json.loads(again.output_stats_json)
    assert (stats["parcelsCreated"], stats["parcelsUpdated"]) == (0, 3)
    assert len(await table_rows(system.settings.database_url, Parcel)) == 3


async def test_csv_parcels_with_lat_lon_columns_are_imported(system: ImportSystem) -> None:
    data = csv_bytes(
        ["PARCEL_ID", "SITE_ADDR", "CITY", "ZIP", "LATITUDE", "LONGITUDE"],
        [
            ["A1", "12 OAK ST", "DURHAM", "27701", "35.99", "-78.9"],
            ["A2", "14 OAK ST", "DURHAM", "27701", "x", "y"],
        ],
    )
    job = await system.run(data, filename="parcels.csv", format="csv", kind="parcel_import")
    assert job.status == cpb.JOB_STATUS_COMPLETED
    assert job.processed_items + job.failed_items == 2
    parcels = {p.apn: p for p in await table_rows(system.settings.database_url, Parcel)}
    assert parcels["A1"].centroid_latitude == 35.99


async def test_parcel_text_with_tabs_newlines_and_backslashes_survives_the_bulk_load(
    system: ImportSystem,
) -> None:
    owner = "SMITH\tJOHN\\\\ & JANE\nTRUSTEES"
    data = geojson_bytes(
        collection([feature({"APN": "T-1", "SITUS": "1 ELM ST", "OWNER": owner, "NOTE": "a\\tb"}, None)])
    )
    await seed_parcels(system, data)
    (parcel,) = await table_rows(system.settings.database_url, Parcel)
    assert parcel.owner_name == "SMITH JOHN\\\\ & JANE TRUSTEES"  # whitespace runs become one space
    assert json.loads(parcel.properties) == {
        "APN": "T-1",
        "SITUS": "1 ELM ST",
        "OWNER": owner,
        "NOTE": "a\\tb",
    }


async def item_errors(system: ImportSystem, job: cpb.Job) -> dict[int, str]:
    page = await system.jobs.ListItemErrors(cpb.ListItemErrorsRequest(job_id=job.id, limit=100))
    return {json.loads(e.detail_json)["row"]: e.message for e in page.errors}


async def test_a_duplicate_apn_in_a_later_batch_names_the_first_item(system: ImportSystem) -> None:
    rows = [[f"P{n}", f"{n} ELM ST", "27701"] for n in range(1, 2101)] + [["P1", "9 ELM ST", "27701"]]
    job = await seed_parcels(system, csv_bytes(["APN", "SITUS", "ZIP"], rows), "csv")
    assert (job.processed_items, job.failed_items) == (2100, 1)
    assert (await item_errors(system, job)) == {2102: "duplicate APN 'P1' in this file; first seen at item 2"}
    stored = {p.apn: p.house_number for p in await table_rows(system.settings.database_url, Parcel)}
    assert stored["P1"] == "1"


async def test_an_apn_whose_first_item_failed_is_taken_from_the_next(system: ImportSystem) -> None:
    projected = polygon(square(6_062_000.0, 2_180_000.0, 100.0))
    data = geojson_bytes(
        collection(
            [
                feature({"APN": "A", "SITUS": "1 ELM ST"}, projected),
                feature({"APN": "A", "SITUS": "2 ELM ST"}),
            ]
        )
    )
    job = await seed_parcels(system, data)
    assert (job.processed_items, job.failed_items) == (1, 1)
    assert "WGS84" in (await item_errors(system, job))[1]


async def test_a_replayed_parcel_batch_is_not_a_duplicate_of_itself(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        rows = [
            {**dict.fromkeys(PARCEL_COLUMNS, ""), "apn": apn, "source": "county", "import_job_id": "job1",
             "import_item": item, "units": None, "centroid_latitude": None, "centroid_longitude": None}
            for item, apn in ((2, "A"), (3, "B"))
        ]  # fmt: skip
        for expected in ((2, 0), (0, 2)):
            async with db.session_factory(engine).begin() as session:
                counts = await ImportRepository(session).upsert_parcels(rows)
            assert (counts.created, counts.updated, counts.duplicates) == (*expected, [])
        moved = [{**rows[0], "import_item": 9}]
        async with db.session_factory(engine).begin() as session:
            counts = await ImportRepository(session).upsert_parcels(moved)
        assert counts.duplicates == [Duplicate(9, "A", 2)]
    finally:
        await engine.dispose()


def county_csv(parcels: int) -> bytes:
    """``parcels`` parcels on lines 2.., then a repeat of the first APN (line ``parcels + 2``)."""
    rows = [[f"P{n}", f"{n} ELM ST", "27701"] for n in range(1, parcels + 1)]
    return csv_bytes(["APN", "SITUS", "ZIP"], [*rows, ["P1", "1 ELM ST", "27701"]])


async def start_in_small_batches(system: ImportSystem, data: bytes) -> str:
    """Start importing ``data`` 100 parcels a batch, so the job can be stopped midway; its id."""
    system.importer.worker.handlers["parcel_import"].batch_items = 100  # type: ignore[attr-defined]
    accepted = await system.upload(data, filename="county.csv", format="csv", kind="parcel_import")
    return accepted.job_id


async def test_a_paused_parcel_import_resumes_from_its_checkpoint_and_still_finds_duplicates(
    system: ImportSystem,
) -> None:
    data = county_csv(3000)
    job_id = await start_in_small_batches(system, data)
    paused = await stop_midway(system, job_id, 300, cpb.CONTROL_ACTION_PAUSE)
    assert paused.status == cpb.JOB_STATUS_PAUSED
    assert 0 < json.loads(paused.checkpoint_json)["item"] < 3000
    stats = json.loads(paused.output_stats_json)
    assert 0 < stats["bytesRead"] < stats["bytesTotal"] == len(data)
    assert paused.processed_items < paused.total_items  # estimated from the bytes read
    await system.jobs.ControlJob(cpb.ControlJobRequest(id=job_id, action=cpb.CONTROL_ACTION_RESUME))
    done = await system.wait(job_id, (cpb.JOB_STATUS_COMPLETED,))
    assert (done.processed_items, done.failed_items, done.total_items) == (3000, 1, 3001)
    assert await item_errors(system, done) == {3002: "duplicate APN 'P1' in this file; first seen at item 2"}


async def test_a_killed_importer_mid_parcel_import_is_replaced_and_no_replayed_item_is_a_duplicate(
    system: ImportSystem,
) -> None:
    job_id = await start_in_small_batches(system, county_csv(3000))
    await until_processed(system, job_id, 500)
    crashed = await system.crash_and_replace_importer()
    done = await system.wait(job_id, (cpb.JOB_STATUS_COMPLETED,), timeout=60)
    assert (done.processed_items, done.failed_items, done.attempt) == (3000, 1, 2)
    assert list(await item_errors(system, done)) == [3002]
    assert len(await table_rows(system.settings.database_url, Parcel)) == 3000
    await crashed.stop(grace=0)


async def test_voter_and_parcel_imports_running_at_once_leave_no_household_unlinked(
    system: ImportSystem, tmp_path: Path
) -> None:
    voters, parcels = tmp_path / "nc.txt", tmp_path / "parcels.csv"
    generator = Path(__file__).resolve().parents[2] / "bench" / "gen_ncvoter.py"
    command = [
        sys.executable,
        str(generator),
        str(voters),
        "--rows",
        "3000",
        "--clean",
        "--parcels",
        str(parcels),
    ]
    subprocess.run(command, check=True, capture_output=True)
    system.importer.worker.handlers["voter_import"].batch_rows = 100  # type: ignore[attr-defined]
    system.importer.worker.handlers["parcel_import"].batch_items = 50  # type: ignore[attr-defined]
    started = await asyncio.gather(
        system.upload(voters.read_bytes(), filename="nc.txt", format="ncsbe"),
        system.upload(parcels.read_bytes(), filename="parcels.csv", format="csv", kind="parcel_import"),
    )
    for accepted in started:
        job = await system.wait(accepted.job_id, (cpb.JOB_STATUS_COMPLETED,), timeout=60)
        assert job.failed_items == 0
    unlinked = await scalar(
        system.settings.database_url,
        f"SELECT count(*) FROM households h WHERE h.parcel_id IS NULL AND EXISTS"
        f" (SELECT 1 FROM parcels p WHERE {parcel_match('h')})",
    )
    linked = await scalar(
        system.settings.database_url, "SELECT count(*) FROM households WHERE parcel_id IS NOT NULL"
    )
    assert (unlinked, linked > 1000) == (0, True)


async def scalar(database_url: str, sql: str) -> int:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


async def test_hostile_csv_parcel_text_survives_the_bulk_load_and_no_row_is_lost(
    system: ImportSystem,
) -> None:
    hostile = [
        "a\tb",
        "line\nbreak",
        "back\\slash",
        "\\N",
        "nul\x00byte",
        "marker\x02null",
        "x" * 5000,
        "é\u200b",
    ]
    rows = [[f"H{i}", f"{i} {text} ST", "27701", text] for i, text in enumerate(hostile, start=1)]
    data = csv_bytes(["APN", "SITUS", "ZIP", "OWNER"], rows) + b"H99,1 ELM ST,27701,\xff\xfe bad bytes\n"
    job = await seed_parcels(system, data, "csv")
    assert (job.processed_items, job.failed_items) == (9, 0)
    owners = {p.apn: p.owner_name for p in await table_rows(system.settings.database_url, Parcel)}
    assert owners["H3"] == "back\\slash"
    assert owners["H4"] == "\\N"  # a backslash and an N, never SQL NULL
    # Control characters: whitespace becomes a space, NUL and the rest are dropped.
    assert [owners["H1"], owners["H5"], owners["H6"]] == ["a b", "nulbyte", "markernull"]
    assert owners["H7"] == "x" * 200  # cut to the column's width
    assert owners["H99"] == "ÿþ bad bytes"  # not UTF-8: read as Windows-1252, as the reader documents
