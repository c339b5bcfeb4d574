"""Voter imports through the real importer and coordinator against PostgreSQL."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from importer_system import ImportSystem, counts, stop_midway, table_rows, until_processed
from voterfiles import (
    NC_CURRENT,
    contra_costa_lines,
    damaged,
    encode,
    florida_lines,
    join_fields,
    ncsbe_lines,
    ncsbe_values,
    ohio_lines,
    sample_voters,
    simple_csv_lines,
    washington_lines,
    with_changes,
)

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_common.models import Household, Voter
from cocoa_importer.formats import RowError, open_reader

VOTERS = sample_voters(60, seed=3)


def nc_file(voters=VOTERS, extra_lines: list[str] | None = None) -> bytes:
    lines = ncsbe_lines(voters)
    return encode(lines[:1] + (extra_lines or []) + lines[1:])


async def test_an_nc_file_becomes_voters_and_households_with_exact_counts(system: ImportSystem) -> None:
    job = await system.run(nc_file(), filename="ncvoter32.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items, job.total_items) == (60, 0, 60)
    stats = json.loads(job.output_stats_json)
    assert stats["recordsCreated"] == 60
    assert stats["format"] == "ncsbe"
    voters = await table_rows(system.settings.database_url, Voter)
    households = await table_rows(system.settings.database_url, Household)
    assert len(voters) == 60
    assert sum(h.person_count for h in households) == sum(1 for v in voters if v.household_id)
    assert {v.household_id for v in voters if v.household_id} == {h.id for h in households}


async def test_reimporting_the_same_file_creates_nothing_and_keeps_household_ids(
    system: ImportSystem,
) -> None:
    await system.run(nc_file(), filename="a.txt", format="ncsbe")
    before = {h.household_key: h.id for h in await table_rows(system.settings.database_url, Household)}
    again = await system.run(nc_file(), filename="a.txt", format="ncsbe")
    stats = json.loads(again.output_stats_json)
    assert (stats["recordsCreated"], stats["recordsUpdated"], stats["recordsSkipped"]) == (0, 0, 60)
    after = {h.household_key: h.id for h in await table_rows(system.settings.database_url, Household)}
    assert after == before
    assert (await counts(system.settings.database_url))["voters"] == 60


async def test_unit_spellings_share_a_household_and_directions_do_not(system: ImportSystem) -> None:
    base = VOTERS[0]
    people = [
        with_changes(base, voter_id="1", house_number="12", predir="N", street_name="DUKE", street_type="ST",
                     unit_type="APT", unit="2"),
        with_changes(base, voter_id="2", house_number="12", predir="N", street_name="DUKE", street_type="STREET",
                     unit_type="#", unit="2"),
        with_changes(base, voter_id="3", house_number="12", predir="N", street_name="DUKE", street_type="ST",
                     unit_type="UNIT", unit="2"),
        with_changes(base, voter_id="4", house_number="12", predir="N", street_name="DUKE", street_type="ST",
                     unit_type="APT", unit="3"),
        with_changes(base, voter_id="5", house_number="12", predir="S", street_name="DUKE", street_type="ST",
                     unit_type="APT", unit="2"),
    ]  # fmt: skip
    job = await system.run(nc_file(people), filename="units.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED
    households = await table_rows(system.settings.database_url, Household)
    assert sorted(h.person_count for h in households) == [1, 1, 3]
    shared = next(h for h in households if h.person_count == 3)
    assert shared.full_address.startswith("12 N DUKE ST")


async def test_po_boxes_and_removed_addresses_are_flagged_and_form_no_household(system: ImportSystem) -> None:
    base = VOTERS[1]
    people = [
        with_changes(base, voter_id="1", house_number="", predir="", street_name="PO BOX 55", street_type="",
                     unit_type="", unit=""),
        with_changes(base, voter_id="2", house_number="", predir="", street_name="REMOVED", street_type="",
                     unit_type="", unit=""),
        with_changes(base, voter_id="3", house_number="40", predir="", street_name="MAIN", street_type="ST",
                     unit_type="", unit=""),
    ]  # fmt: skip
    job = await system.run(nc_file(people), filename="flags.txt", format="ncsbe")
    assert (job.processed_items, job.failed_items) == (3, 0)
    assert json.loads(job.output_stats_json)["addressesFlagged"] == {"po_box": 1, "removed": 1}
    voters = {v.source_voter_id: v for v in await table_rows(system.settings.database_url, Voter)}
    assert (voters["AA1"].address_flag, voters["AA1"].household_id) == ("po_box", None)
    assert voters["AA2"].address_flag == "removed"
    assert voters["AA3"].household_id is not None
    assert len(await table_rows(system.settings.database_url, Household)) == 1


async def test_bad_rows_are_logged_with_line_numbers_and_every_row_is_accounted_for(
    system: ImportSystem,
) -> None:
    garbage = ["<<<<<<< HEAD", "<html><body>oops</body></html>", "", join_fields(["x", "y"], "\t")]
    data = nc_file(VOTERS[:10], extra_lines=garbage) + b"\x81\x8d\x8f\x90\x9d broken\r\n"
    job = await system.run(data, filename="bad.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED
    assert job.processed_items == 10
    assert job.failed_items == 4  # three garbage lines and the undecodable one; the blank line is no row
    page = await system.jobs.ListItemErrors(cpb.ListItemErrorsRequest(job_id=job.id, limit=50))
    lines = sorted(json.loads(e.detail_json)["row"] for e in page.errors)
    assert lines[:3] == [2, 3, 5]
    assert all(e.code == "bad_row" and e.message for e in page.errors)


@pytest.mark.parametrize("seed", range(4))
async def test_a_damaged_file_loses_no_row_the_reader_saw(system: ImportSystem, seed: int) -> None:
    data = damaged(nc_file(sample_voters(300, seed=seed)), 1, random.Random(seed))
    reader = open_reader("ncsbe", io.BytesIO(data))
    results = [reader.parse(record) for record in reader.records()]
    bad = sum(isinstance(r, RowError) for r in results)
    job = await system.run(data, filename="damaged.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (len(results) - bad, bad)
    page = await system.jobs.ListItemErrors(cpb.ListItemErrorsRequest(job_id=job.id, limit=1000))
    assert len(page.errors) == bad
    stats = json.loads(job.output_stats_json)
    stored = (await counts(system.settings.database_url))["voters"]
    assert stats["recordsCreated"] == stored
    # A repeated line is unchanged: a duplicate in its own batch, a known record in a later one.
    assert stored + stats["recordsUnchanged"] == len(results) - bad


async def test_incremental_updates_existing_voters_and_skips_new_ones(system: ImportSystem) -> None:
    await system.run(nc_file(VOTERS[:20]), filename="a.txt", format="ncsbe")
    changed = [with_changes(v, party="LIB") for v in VOTERS[:5]] + VOTERS[5:20] + VOTERS[20:30]
    job = await system.run(nc_file(changed), filename="b.txt", format="ncsbe", import_type="incremental")
    stats = json.loads(job.output_stats_json)
    assert (stats["recordsCreated"], stats["recordsUpdated"]) == (0, 5)
    assert stats["recordsSkipped"] == 25  # 15 unchanged and 10 not yet known
    assert (await counts(system.settings.database_url))["voters"] == 20


async def test_person_counts_follow_voters_who_move(system: ImportSystem) -> None:
    a = with_changes(VOTERS[0], voter_id="1", house_number="5", street_name="OAK", street_type="ST", unit="",
                     unit_type="", predir="")  # fmt: skip
    b = with_changes(a, voter_id="2")
    await system.run(nc_file([a, b]), filename="a.txt", format="ncsbe")
    moved = with_changes(b, house_number="9")
    await system.run(nc_file([a, moved]), filename="b.txt", format="ncsbe")
    households = {h.house_number: h for h in await table_rows(system.settings.database_url, Household)}
    assert (households["5"].person_count, households["9"].person_count) == (1, 1)


async def test_simple_csv_without_ids_is_keyed_so_a_rerun_creates_nothing(system: ImportSystem) -> None:
    data = encode(simple_csv_lines(VOTERS[:8]), encoding="utf-8", bom=True)
    first = await system.run(data, filename="people.csv", format="simple_csv")
    second = await system.run(data, filename="people.csv", format="simple_csv")
    assert json.loads(first.output_stats_json)["recordsCreated"] == 8
    assert json.loads(second.output_stats_json)["recordsCreated"] == 0


async def test_auto_detects_the_format_and_says_which(system: ImportSystem) -> None:
    accepted = await system.upload(nc_file(VOTERS[:3]), filename="x.txt", format="auto")
    assert accepted.format == "ncsbe"
    assert len(accepted.sha256) == 64
    job = await system.wait(accepted.job_id, (cpb.JOB_STATUS_COMPLETED,))
    assert json.loads(job.data_json)["format"] == "ncsbe"


@pytest.mark.parametrize(
    ("filename", "fmt", "import_type", "message"),
    [
        ("a.txt", "", "full", "No format specified"),
        ("a.txt", "dbase", "full", "Unsupported format: dbase"),
        ("a.txt", "ncsbe", "sometimes", 'Invalid importType. Must be "full" or "incremental"'),
        ("a.pdf", "ncsbe", "full", 'Invalid file extension for format "ncsbe". Expected:'),
    ],
)
async def test_bad_uploads_are_rejected_with_the_contract_message(
    system: ImportSystem, filename: str, fmt: str, import_type: str, message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(b"data\n", filename=filename, format=fmt, import_type=import_type)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(message)


async def test_an_upload_over_the_limit_is_refused_and_leaves_no_file(system: ImportSystem) -> None:
    system.importer.service.store.max_bytes = 1000
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(b"x" * 5000, filename="big.txt", format="ncsbe")
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert list((system.importer.service.store.directory).iterdir()) == []


async def _upload_in_small_batches(system: ImportSystem, voters: list) -> str:
    """Start importing ``voters`` 100 rows a batch, so the job can be stopped midway; its id."""
    system.importer.worker.handlers["voter_import"].batch_rows = 100  # type: ignore[attr-defined]
    accepted = await system.upload(nc_file(voters), filename="big.txt", format="ncsbe")
    return accepted.job_id


async def test_pause_and_resume_continue_from_the_saved_byte_offset(system: ImportSystem) -> None:
    many = sample_voters(3000, seed=9)
    job_id = await _upload_in_small_batches(system, many)
    paused = await stop_midway(system, job_id, 300, cpb.CONTROL_ACTION_PAUSE)
    checkpoint = json.loads(paused.checkpoint_json)
    assert paused.status == cpb.JOB_STATUS_PAUSED
    assert 0 < checkpoint["offset"] < len(nc_file(many))
    assert checkpoint["processed"] == paused.processed_items < 3000
    await system.jobs.ControlJob(cpb.ControlJobRequest(id=job_id, action=cpb.CONTROL_ACTION_RESUME))
    done = await system.wait(job_id, (cpb.JOB_STATUS_COMPLETED,))
    assert (done.processed_items, done.failed_items) == (3000, 0)
    assert json.loads(done.output_stats_json)["recordsCreated"] == 3000


async def test_a_reimport_after_a_resumed_import_finds_every_record_unchanged(system: ImportSystem) -> None:
    many = sample_voters(3000, seed=12)
    job_id = await _upload_in_small_batches(system, many)
    await stop_midway(system, job_id, 200, cpb.CONTROL_ACTION_PAUSE)
    await system.jobs.ControlJob(cpb.ControlJobRequest(id=job_id, action=cpb.CONTROL_ACTION_RESUME))
    await system.wait(job_id, (cpb.JOB_STATUS_COMPLETED,))
    again = await system.run(nc_file(many), filename="big.txt", format="ncsbe")
    stats = json.loads(again.output_stats_json)
    assert (stats["recordsCreated"], stats["recordsUpdated"], stats["recordsUnchanged"]) == (0, 0, 3000)


async def test_a_killed_importer_is_replaced_and_the_job_finishes_with_exact_counts(
    system: ImportSystem,
) -> None:
    many = sample_voters(3000, seed=11)
    job_id = await _upload_in_small_batches(system, many)
    await until_processed(system, job_id, 500)
    crashed = await system.crash_and_replace_importer()
    done = await system.wait(job_id, (cpb.JOB_STATUS_COMPLETED,), timeout=60)
    assert (done.processed_items, done.failed_items, done.attempt) == (3000, 0, 2)
    stats = json.loads(done.output_stats_json)
    assert stats["recordsCreated"] + stats["recordsSkipped"] + stats["recordsUpdated"] == 3000
    assert (await counts(system.settings.database_url))["voters"] == 3000
    await crashed.stop(grace=0)


def test_ncsbe_sample_header_is_the_current_layout() -> None:
    assert ncsbe_values(VOTERS[0])[NC_CURRENT.index("ncid")] == f"AA{VOTERS[0].voter_id}"


@pytest.mark.parametrize(
    ("fmt", "filename", "data"),
    [
        ("florida", "DAD_20260101.txt", lambda v: encode(florida_lines(v))),
        ("ohio_swvf", "SWVF_1_22.txt", lambda v: encode(ohio_lines(v))),
        ("ohio_swvf", "SWVF_23_44.txt", lambda v: encode(ohio_lines(v, delimiter="|"))),
        ("washington_vrdb", "VRDB_Extract.txt", lambda v: encode(washington_lines(v, "|"), encoding="utf-8")),
        ("contra_costa", "contra.txt", lambda v: encode(contra_costa_lines(v))),
        ("simple_csv", "people.csv", lambda v: encode(simple_csv_lines(v), encoding="utf-8", bom=True)),
        ("auto", "whatever.txt", lambda v: encode(washington_lines(v))),
    ],
)
async def test_every_format_imports_voters_and_forms_households(
    system: ImportSystem, fmt: str, filename: str, data: Callable[[list], bytes]
) -> None:
    voters = sample_voters(30, seed=21)
    job = await system.run(data(voters), filename=filename, format=fmt)
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (30, 0)
    assert json.loads(job.output_stats_json)["recordsCreated"] == 30
    totals = await counts(system.settings.database_url)
    assert totals["voters"] == 30
    apartments = {(v.house_number, v.street_name, v.unit) for v in voters}
    assert totals["households"] == len(apartments)


async def test_person_counts_equal_each_households_voters_when_members_span_batches(
    system: ImportSystem,
) -> None:
    system.importer.worker.handlers["voter_import"].batch_rows = 7  # type: ignore[attr-defined]
    people = sample_voters(90, seed=4)
    movers = [with_changes(v, house_number="77", predir="", street_name="BIRCH", street_type="RD", unit="", unit_type="", city="DURHAM", zip_code="27701")
              for v in people[:10]]  # fmt: skip
    await system.run(nc_file(people), filename="a.txt", format="ncsbe")
    await system.run(nc_file(movers + people[10:]), filename="b.txt", format="ncsbe")
    voters = await table_rows(system.settings.database_url, Voter)
    households = await table_rows(system.settings.database_url, Household)
    members: dict[int, int] = {}
    for v in voters:
        if v.household_id is not None:
            members[v.household_id] = members.get(v.household_id, 0) + 1
    assert {h.id: h.person_count for h in households} == {h.id: members.get(h.id, 0) for h in households}
    assert max(h.person_count for h in households) == 10  # the ten movers share one new household


async def test_a_reimport_with_a_few_changed_rows_updates_exactly_those(system: ImportSystem) -> None:
    voters = sample_voters(400, seed=11)  # more than the sample looked up before the whole batch
    await system.run(nc_file(voters), filename="a.txt", format="ncsbe")
    changed = [with_changes(v, party="GRN") if i % 50 == 0 else v for i, v in enumerate(voters)]
    job = await system.run(nc_file(changed), filename="b.txt", format="ncsbe")
    stats = json.loads(job.output_stats_json)
    assert (stats["recordsCreated"], stats["recordsUpdated"], stats["recordsUnchanged"]) == (0, 8, 392)
    stored = await table_rows(system.settings.database_url, Voter)
    assert sum(v.party == "GRN" for v in stored) == 8


async def _job_with(system: ImportSystem, job_type: str, **data: str) -> cpb.Job:
    """An import job created by hand, as through POST /api/v1/jobs, run to its end."""
    data = {"format": "simple_csv" if job_type == "voter_import" else "csv", **data}
    created = await system.jobs.CreateJob(cpb.CreateJobRequest(type=job_type, data_json=json.dumps(data)))
    return await system.wait(created.job.id, (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED))


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.csv"
    secret.write_text("firstname,lastname\nTOP,SECRET\n")
    return secret


async def test_an_uploaded_files_job_names_it_by_upload_id_not_by_path(system: ImportSystem) -> None:
    accepted = await system.upload(nc_file(VOTERS[:3]), filename="a.txt", format="ncsbe")
    data = json.loads((await system.jobs.GetJob(cpb.GetJobRequest(id=accepted.job_id))).data_json)
    assert data["uploadId"]
    assert "path" not in data


@pytest.mark.parametrize("job_type", ["voter_import", "parcel_import"])
async def test_an_import_job_naming_a_path_instead_of_an_upload_is_refused_at_creation(
    system: ImportSystem, tmp_path: Path, job_type: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _job_with(system, job_type, path=str(_secret(tmp_path)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "data.uploadId is required" in info.value.details()
    listed = await system.jobs.ListJobs(cpb.ListJobsRequest(limit=10))
    assert listed.total == 0


async def test_an_uploaded_file_can_be_imported_again_by_a_job_made_by_hand(system: ImportSystem) -> None:
    accepted = await system.upload(nc_file(VOTERS[:3]), filename="a.txt", format="ncsbe")
    await system.wait(accepted.job_id, (cpb.JOB_STATUS_COMPLETED,))
    data = json.loads((await system.jobs.GetJob(cpb.GetJobRequest(id=accepted.job_id))).data_json)
    again = await _job_with(system, "voter_import", uploadId=data["uploadId"], format="ncsbe")
    assert again.status == cpb.JOB_STATUS_COMPLETED
    stats = json.loads(again.output_stats_json)
    assert (stats["recordsCreated"], stats["recordsUnchanged"]) == (0, 3)


# The importer checks the file a job names again when it runs: a job created before uploads were
# checked at creation, or an uploads row that was forged or outlived its file, reads nothing.


@pytest.mark.parametrize("upload_id", ["../../etc/passwd", "*", "c0mww0ynk8q9x3o5yu8u81amr.txt"])
async def test_an_upload_id_that_is_not_one_is_refused(
    system: ImportSystem, record_upload: Callable[..., str], upload_id: str
) -> None:
    job = await _job_with(system, "voter_import", uploadId=record_upload("voter_import", upload_id))
    assert job.status == cpb.JOB_STATUS_FAILED
    assert "is not an upload id" in job.failure_reason


async def test_a_symlink_planted_in_upload_storage_is_refused(
    system: ImportSystem, record_upload: Callable[..., str], tmp_path: Path
) -> None:
    link = Path(system.settings.upload_dir) / "c0000000000000000000000xy.csv"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(_secret(tmp_path))
    upload_id = record_upload("voter_import", "c0000000000000000000000xy")
    job = await _job_with(system, "voter_import", uploadId=upload_id)
    assert job.status == cpb.JOB_STATUS_FAILED
    assert "not a file in the importer's upload storage" in job.failure_reason


async def test_an_import_job_whose_upload_is_gone_fails_with_the_reason(
    system: ImportSystem, record_upload: Callable[..., str]
) -> None:
    upload_id = record_upload("voter_import", "c000000000000000000000000")
    job = await _job_with(system, "voter_import", uploadId=upload_id)
    assert job.status == cpb.JOB_STATUS_FAILED
    assert "missing from storage" in job.failure_reason


async def test_a_cancelled_import_keeps_its_batches_and_a_rerun_adds_only_the_rest(
    system: ImportSystem,
) -> None:
    many = sample_voters(3000, seed=13)
    job_id = await _upload_in_small_batches(system, many)
    await stop_midway(system, job_id, 200, cpb.CONTROL_ACTION_CANCEL)
    kept = (await counts(system.settings.database_url))["voters"]
    assert 0 < kept < 3000
    rerun = await system.run(nc_file(many), filename="big.txt", format="ncsbe")
    stats = json.loads(rerun.output_stats_json)
    assert (stats["recordsCreated"], stats["recordsUnchanged"]) == (3000 - kept, kept)
    households = await table_rows(system.settings.database_url, Household)
    voters = await table_rows(system.settings.database_url, Voter)
    assert sum(h.person_count for h in households) == sum(1 for v in voters if v.household_id)


async def test_a_cancelled_import_retried_from_its_checkpoint_finishes_with_exact_counts(
    system: ImportSystem,
) -> None:
    many = sample_voters(3000, seed=14)
    job_id = await _upload_in_small_batches(system, many)
    stopped = await stop_midway(system, job_id, 200, cpb.CONTROL_ACTION_CANCEL)
    retry = cpb.RetryJobRequest(id=job_id, from_checkpoint=True)
    resumed = (await system.jobs.RetryJob(retry)).job
    assert (resumed.processed_items, resumed.checkpoint_json) == (
        stopped.processed_items,
        stopped.checkpoint_json,
    )
    done = await system.wait(resumed.id, (cpb.JOB_STATUS_COMPLETED,))
    assert (done.processed_items, done.failed_items) == (3000, 0)
    stats = json.loads(done.output_stats_json)
    # The counts go on from the checkpoint's; rows the cancelled job stored after its last
    # checkpoint are read again and found unchanged.
    assert stats["recordsCreated"] + stats["recordsUnchanged"] == 3000
    assert (await counts(system.settings.database_url))["voters"] == 3000


async def test_check_upload_refuses_a_header_as_upload_would_and_stores_nothing(system: ImportSystem) -> None:
    header = ipb.UploadHeader(kind="voter_import", filename="a.txt", format="ncsbe", import_type="sometimes")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.uploads.CheckUpload(header)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == 'Invalid importType. Must be "full" or "incremental"'
    assert not system.importer.service.store.directory.exists()  # nothing was ever written


async def test_check_upload_accepts_a_header_whose_format_comes_after_the_file(system: ImportSystem) -> None:
    header = ipb.UploadHeader(kind="voter_import", filename="a.txt")
    assert await system.uploads.CheckUpload(header) == ipb.CheckUploadResponse()
