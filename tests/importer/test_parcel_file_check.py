"""A parcel file that is not parcels is refused before anything is imported: at upload (400) and,
for a job made by hand, when the job starts (failed with the reason)."""

from __future__ import annotations

import json

import grpc
import psycopg
import pytest
from importer_system import ImportSystem, counts, table_rows
from parcel_samples import collection, feature, geojson_bytes, polygon, square
from voterfiles import encode, sample_voters, simple_csv_lines

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common.models import Upload
from cocoa_importer.first_items import mostly_failing


def parcels(count: int, *, apn: bool = True) -> bytes:
    features = [
        feature(
            {**({"APN": f"100-{i}"} if apn else {}), "SITUS": f"{i} OAK ST", "SITUS_ZIP": "27701"},
            polygon(square(-78.9 + i * 0.001, 35.99, 0.0005)),
        )
        for i in range(count)
    ]
    return geojson_bytes(collection(features))


async def refused(system: ImportSystem, data: bytes, filename: str, fmt: str = "") -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await system.upload(data, filename=filename, format=fmt, kind="parcel_import")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return info.value.details()


async def test_a_voter_file_sent_as_parcels_is_refused_at_upload(system: ImportSystem) -> None:
    voters = encode(simple_csv_lines(sample_voters(5, seed=1)), encoding="utf-8")
    message = await refused(system, voters, "people.csv", "csv")
    assert message.startswith("Cannot read the file as parcels: ")
    assert "APN" in message


async def test_a_web_page_sent_as_parcels_is_refused_at_upload(system: ImportSystem) -> None:
    message = await refused(system, b"<!doctype html><html><body>Sign in</body></html>", "parcels.geojson")
    assert message.startswith("Cannot read the file as parcels: ")


async def test_features_that_nearly_all_fail_are_refused_and_leave_nothing(system: ImportSystem) -> None:
    message = await refused(system, parcels(25, apn=False), "parcels.geojson", "geojson")
    assert message.startswith("Cannot read the file as parcels: 25 of its first 25 parcels fail (item 1, ")
    assert list(system.importer.service.store.directory.iterdir()) == []
    assert await table_rows(system.settings.database_url, Upload) == []
    assert (await system.jobs.ListJobs(cpb.ListJobsRequest())).total == 0


async def test_a_parcel_file_with_a_few_bad_features_imports_the_rest(system: ImportSystem) -> None:
    good = json.loads(parcels(20))
    bad = json.loads(parcels(5, apn=False))["features"]
    data = geojson_bytes(collection([*good["features"], *bad]))
    job = await system.run(data, filename="parcels.geojson", format="geojson", kind="parcel_import")
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    assert (job.processed_items, job.failed_items) == (20, 5)


async def test_a_parcel_job_made_by_hand_over_a_voter_file_fails_before_writing(system: ImportSystem) -> None:
    accepted = await system.upload(
        encode(simple_csv_lines(sample_voters(30, seed=2)), encoding="utf-8"),
        filename="people.csv",
        format="simple_csv",
    )
    await system.wait(accepted.job_id, (cpb.JOB_STATUS_COMPLETED,))
    upload_id = json.loads((await system.jobs.GetJob(cpb.GetJobRequest(id=accepted.job_id))).data_json)[
        "uploadId"
    ]
    with psycopg.connect(system.settings.database_url) as conn:  # the same file, named a parcel upload
        conn.execute("UPDATE uploads SET kind = 'parcel_import' WHERE id = %s", (upload_id,))
    created = await system.jobs.CreateJob(
        cpb.CreateJobRequest(
            type="parcel_import", data_json=json.dumps({"uploadId": upload_id, "format": "csv"})
        )
    )
    job = await system.wait(created.job.id, (cpb.JOB_STATUS_COMPLETED, cpb.JOB_STATUS_FAILED))
    assert job.status == cpb.JOB_STATUS_FAILED
    assert job.failure_reason.startswith("cannot read the parcel file: ")
    assert (await counts(system.settings.database_url))["parcels"] == 0


@pytest.mark.parametrize(
    ("seen", "failed", "refused"),
    [(1000, 899, False), (1000, 900, True), (20, 18, True), (20, 17, False), (19, 19, True), (19, 18, False),
     (1, 1, True), (0, 0, False)],
)  # fmt: skip
def test_a_file_is_refused_when_nine_in_ten_items_fail_or_every_item_of_a_small_one(
    seen: int, failed: int, refused: bool
) -> None:
    assert mostly_failing(seen, failed) is refused
