"""An address that fails to normalize is logged on the job, with its line and the raw text, while
its row still imports (a voter with no household, a parcel no household links to); it is not a
failed item. Addresses the source withholds or never had are counted, not logged."""

from __future__ import annotations

import json

from importer_system import ImportSystem, table_rows
from parcel_samples import csv_bytes
from voterfiles import encode, ncsbe_lines, sample_voters, with_changes

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.models import Parcel, Voter

VOTERS = sample_voters(6, seed=14)
NO_NUMBER = with_changes(VOTERS[2], house_number="", unit_type="", unit="")  # line 4: "E CLAY AVE"


async def ledger(system: ImportSystem, job: cpb.Job) -> list[cpb.ItemError]:
    page = await system.jobs.ListItemErrors(cpb.ListItemErrorsRequest(job_id=job.id, limit=100))
    return list(page.errors)


async def test_a_voter_whose_address_fails_is_imported_and_logged_on_the_job(system: ImportSystem) -> None:
    voters = [*VOTERS[:2], NO_NUMBER, *VOTERS[3:]]
    job = await system.run(encode(ncsbe_lines(voters)), filename="ncvoter32.txt", format="ncsbe")
    assert (job.processed_items, job.failed_items) == (6, 0)
    (note,) = await ledger(system, job)
    detail = json.loads(note.detail_json)
    assert (note.item_ref, note.code) == ("line:4", "address_not_normalized")
    assert (detail["field"], detail["reason"], detail["raw"]) == (
        "residential_address",
        "no_house_number",
        NO_NUMBER.street_line,
    )
    stored = {v.source_voter_id: v for v in await table_rows(system.settings.database_url, Voter)}
    assert stored[f"AA{NO_NUMBER.voter_id}"].address_flag == "no_house_number"
    assert stored[f"AA{NO_NUMBER.voter_id}"].household_id is None


async def test_po_boxes_and_withheld_addresses_are_counted_not_logged(system: ImportSystem) -> None:
    po_box = with_changes(
        VOTERS[0], house_number="PO BOX 12", predir="", street_name="", street_type="", unit_type="", unit=""
    )
    removed = with_changes(
        VOTERS[1], house_number="REMOVED", predir="", street_name="", street_type="", unit_type="", unit=""
    )
    job = await system.run(
        encode(ncsbe_lines([po_box, removed, *VOTERS[2:]])), filename="nc.txt", format="ncsbe"
    )
    assert json.loads(job.output_stats_json)["addressesFlagged"] == {"po_box": 1, "removed": 1}
    assert await ledger(system, job) == []


PARCEL_HEADER = ("APN", "SITUS", "CITY", "ZIP", "LAT", "LON")
OAK_10 = ("P-1", "10 OAK ST", "DURHAM", "27701", "35.99", "-78.90")


async def import_parcels(system: ImportSystem, *rows: tuple[str, ...]) -> cpb.Job:
    data = csv_bytes(PARCEL_HEADER, rows)
    job = await system.run(data, filename="p.csv", format="csv", kind="parcel_import")
    assert (job.processed_items, job.failed_items) == (len(rows), 0)
    return job


async def test_a_parcel_whose_situs_fails_is_imported_and_logged_on_the_job(system: ImportSystem) -> None:
    job = await import_parcels(system, OAK_10, ("P-2", "OAK ST", "DURHAM", "27701", "35.99", "-78.91"))
    (note,) = await ledger(system, job)
    assert (note.item_ref, note.code) == ("item:3", "situs_not_normalized")  # CSV items are line numbers
    assert json.loads(note.detail_json)["raw"] == "OAK ST"
    assert sorted(p.apn for p in await table_rows(system.settings.database_url, Parcel)) == ["P-1", "P-2"]


async def test_a_parcel_without_a_situs_is_not_logged(system: ImportSystem) -> None:
    job = await import_parcels(system, OAK_10, ("LOT-9", "", "DURHAM", "27701", "35.98", "-78.90"))
    assert await ledger(system, job) == []
