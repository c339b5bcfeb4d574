"""A voter file that does not read as its format is refused before anything is imported: at upload
(400) and, for a job made by hand, when the job starts (failed with the reason)."""

from __future__ import annotations

import io
import json

import grpc
import pytest
from importer_system import ImportSystem, counts, table_rows
from voterfiles import encode, florida_values, join_fields, ncsbe_lines, sample_voters, simple_csv_lines

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.models import Upload
from cocoa_importer.formats import open_reader
from cocoa_importer.formats._base import RowError

VOTERS = sample_voters(40, seed=11)
NC_FILE = encode(ncsbe_lines(VOTERS))


async def refused(system: ImportSystem, data: bytes, filename: str, fmt: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(data, filename=filename, format=fmt)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return info.value.details()


async def test_a_file_of_another_format_is_refused_naming_the_one_it_looks_like(system: ImportSystem) -> None:
    message = await refused(system, NC_FILE, "ncvoter.txt", "florida")
    assert message.startswith("Cannot read the file as florida: 41 of its first 41 rows fail (line 1: ")
    assert message.endswith("so nothing was imported. It looks like ncsbe: choose that format, or auto.")


async def test_a_header_that_does_not_fit_the_format_is_refused_at_upload(system: ImportSystem) -> None:
    message = await refused(system, NC_FILE, "ncvoter.txt", "washington_vrdb")
    assert message.startswith(
        "Cannot read the file as washington_vrdb: washington_vrdb: header lacks required"
    )


async def test_a_refused_file_leaves_no_upload_no_file_and_no_job(system: ImportSystem) -> None:
    await refused(system, NC_FILE, "ncvoter.txt", "florida")
    assert list(system.importer.service.store.directory.iterdir()) == []
    assert await table_rows(system.settings.database_url, Upload) == []
    assert (await system.jobs.ListJobs(cpb.ListJobsRequest())).total == 0


async def test_a_state_file_sent_as_simple_csv_is_refused_before_it_loses_its_ids(
    system: ImportSystem,
) -> None:
    message = await refused(system, NC_FILE, "ncvoter.csv", "simple_csv")
    assert message == (
        "Cannot read the file as simple_csv: the file is a ncsbe file: as simple_csv its voter ids and"
        " addresses would be lost, so nothing was imported. Choose ncsbe, or auto."
    )


async def test_a_file_whose_rows_nearly_all_fail_is_refused(system: ImportSystem) -> None:
    lines = ncsbe_lines(VOTERS[:2])
    garbage = [f"<tr><td>row {i}</td></tr>" for i in range(38)]
    message = await refused(system, encode(lines + garbage), "ncvoter.txt", "ncsbe")
    assert "38 of its first 40 rows fail" in message
    assert message.endswith("Check the format chosen and the file.")


async def test_a_file_with_some_bad_rows_is_imported_and_they_are_logged(system: ImportSystem) -> None:
    lines = ncsbe_lines(VOTERS[:10])
    garbage = [f"<tr><td>row {i}</td></tr>" for i in range(30)]  # 75 %: bad, but not a wrong format
    job = await system.run(encode(lines + garbage), filename="ncvoter.txt", format="ncsbe")
    assert job.status == cpb.JOB_STATUS_COMPLETED
    assert (job.processed_items, job.failed_items) == (10, 30)


async def test_a_small_file_whose_every_row_fails_is_refused(system: ImportSystem) -> None:
    data = encode(["firstname,lastname", ",", ","])
    message = await refused(system, data, "people.csv", "simple_csv")
    assert "2 of its first 2 rows fail" in message


async def test_an_auto_upload_is_checked_in_the_format_detected(system: ImportSystem) -> None:
    accepted = await system.upload(encode(simple_csv_lines(VOTERS)), filename="people.csv", format="auto")
    assert accepted.format == "simple_csv"


async def test_a_job_made_by_hand_in_the_wrong_format_fails_before_writing(system: ImportSystem) -> None:
    accepted = await system.upload(NC_FILE, filename="ncvoter.txt", format="ncsbe")
    await system.wait(accepted.job_id, (cpb.JOB_STATUS_COMPLETED,))
    before = await counts(system.settings.database_url)
    first = await system.jobs.GetJob(cpb.GetJobRequest(id=accepted.job_id))
    data = {"uploadId": json.loads(first.data_json)["uploadId"], "format": "florida"}
    created = await system.jobs.CreateJob(
        cpb.CreateJobRequest(type="voter_import", data_json=json.dumps(data))
    )
    job = await system.wait(created.job.id, (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED))
    assert job.status == cpb.JOB_STATUS_FAILED
    assert job.failure_reason.startswith("cannot read the file as florida: 41 of its first 41 rows fail")
    assert job.processed_items == job.failed_items == 0
    assert await counts(system.settings.database_url) == before


def test_a_florida_row_whose_county_is_not_a_county_code_is_rejected() -> None:
    values = florida_values(VOTERS[0])
    values[0] = "32"
    reader = open_reader("florida", io.BytesIO(encode([join_fields(values, "\t")])))
    row = reader.parse(next(reader.records()))
    assert isinstance(row, RowError)
    assert (row.field, row.reason) == (
        "county",
        "County Code must be a 3-letter county code (DAD, ORA ...), not '32'",
    )
