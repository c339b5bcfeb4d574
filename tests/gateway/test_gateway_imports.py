"""Import routes through the real coordinator and the real importer against PostgreSQL: voter and
parcel uploads become jobs that complete; validation answers with the contract's sentences."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway_helpers import (
    BOUNDARY,
    ClientFactory,
    Sessions,
    bearer,
    chunked,
    delayed_job,
    eventually,
    fetch_job,
    multipart_bytes,
    upload_form,
    wait_for_status,
)
from parcel_samples import collection, csv_bytes, feature, polygon, square
from sqlalchemy import func, select
from voterfiles import encode, ncsbe_lines, sample_voters, simple_csv_lines

from cocoa_common.models import AuditLog, Household, Parcel, Voter
from cocoa_common.settings import Settings
from cocoa_importer.server import ImporterApp

VOTERS = sample_voters(6, seed=7)
SIMPLE_CSV = encode(simple_csv_lines(VOTERS), encoding="utf-8")
NC_FILE = encode(ncsbe_lines(VOTERS))
FORMAT_KEYS = {"id", "name", "description", "supportedExtensions", "supportsIncremental"}
PARCEL_KEYS = {
    "id",
    "apn",
    "source",
    "houseNumber",
    "preDirection",
    "streetName",
    "streetSuffix",
    "postDirection",
    "unit",
    "fullAddress",
    "city",
    "zipCode",
    "centroidLatitude",
    "centroidLongitude",
    "householdCount",
    "state",
    "ownerName",
    "landUse",
}
VOTERS_IMPORT = "/api/v1/voters/import"
PARCELS_IMPORT = "/api/v1/gis/parcels/import"


def parcels_document() -> dict[str, Any]:
    return collection(
        [
            feature(
                {"APN": "200-1", "SITUS": "10 OAK ST", "SITUS_CITY": "DURHAM", "SITUS_ZIP": "27701"},
                polygon(square(-78.90, 35.99, 0.001)),
            ),
            feature(
                {"APN": "200-2", "SITUS": "12 OAK ST", "SITUS_CITY": "DURHAM", "SITUS_ZIP": "27701"},
                polygon(square(-78.91, 35.99, 0.001)),
            ),
        ]
    )


async def post_voters(
    client: TestClient, token: str, form: Any, **headers: str
) -> tuple[int, dict[str, Any]]:
    response = await client.post(VOTERS_IMPORT, data=form, headers={**bearer(token), **headers})
    return response.status, await response.json()


async def count(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


def stored_files(settings: Settings) -> list[Path]:
    directory = Path(settings.upload_dir)
    return list(directory.iterdir()) if directory.exists() else []


# ---- voter formats and uploads ------------------------------------------------------------------


async def test_voter_formats_are_listed(import_client: TestClient, viewer_token: str) -> None:
    response = await import_client.get(VOTERS_IMPORT, headers=bearer(viewer_token))
    assert response.status == 200
    body = await response.json()
    assert body["success"] is True
    assert body["count"] == len(body["formats"])
    by_id = {f["id"]: f for f in body["formats"]}
    assert {"ncsbe", "simple_csv", "csv_mapped", "auto"} <= set(by_id)
    assert all(set(f) == FORMAT_KEYS for f in body["formats"])
    assert by_id["simple_csv"]["supportedExtensions"] == [".csv"]
    assert by_id["simple_csv"]["supportsIncremental"] is False


async def test_upload_returns_202_and_the_import_job_completes(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv"})
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    job_id = body["jobId"]
    assert body["success"] is True
    assert body["message"] == f"Import job created. Watch job {job_id} for progress."
    assert (body["format"], body["formatId"], body["importType"]) == ("Simple CSV", "simple_csv", "full")
    assert body["sizeBytes"] == len(SIMPLE_CSV)
    assert len(body["sha256"]) == 64
    job = await wait_for_status(import_client, admin_token, job_id, "completed", "failed", timeout=20)
    assert job["status"] == "completed", job["failureReason"]
    assert job["type"] == "voter_import"
    assert await count(sessions, Voter) == len(VOTERS)
    assert await count(sessions, Household) > 0


async def test_a_zipped_voter_file_uploads_and_imports(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as members:
        members.writestr("people.csv", SIMPLE_CSV)
    form = upload_form("people.zip", archive.getvalue(), before={"format": "simple_csv"})
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    assert body["sizeBytes"] == len(SIMPLE_CSV)
    job = await wait_for_status(import_client, admin_token, body["jobId"], "completed", "failed", timeout=20)
    assert job["status"] == "completed", job["failureReason"]
    assert await count(sessions, Voter) == len(VOTERS)


async def test_auto_format_reports_the_detected_format(import_client: TestClient, admin_token: str) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "auto"})
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    assert (body["formatId"], body["format"]) == ("ncsbe", "North Carolina (NCSBE ncvoter)")


async def test_fields_after_the_file_part_are_honoured(import_client: TestClient, admin_token: str) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, after={"format": "ncsbe", "importType": "incremental"})
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    assert (body["formatId"], body["importType"]) == ("ncsbe", "incremental")
    job = await wait_for_status(import_client, admin_token, body["jobId"], "completed", "failed", timeout=20)
    assert json.loads(job["data"])["importType"] == "incremental"


async def test_csv_mapped_upload_uses_the_mapping_field(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    data = b"Given,Family,Street,Town,Zip\nAnn,Lee,1 MAIN ST,DURHAM,27701\nBo,Kim,3 MAIN ST,DURHAM,27701\n"
    mapping = {"first_name": "Given", "last_name": "Family", "street_line": "Street", "city": "Town"}
    form = upload_form(
        "list.csv",
        data,
        before={"format": "csv_mapped", "mapping": json.dumps({**mapping, "zip_code": "Zip"})},
    )
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    job = await wait_for_status(import_client, admin_token, body["jobId"], "completed", "failed", timeout=20)
    assert job["status"] == "completed", job["failureReason"]
    assert await count(sessions, Voter) == 2


async def test_missing_file_is_400_no_file_provided(client: TestClient, admin_token: str) -> None:
    status, body = await post_voters(client, admin_token, upload_form(None, before={"format": "ncsbe"}))
    assert status == 400
    assert body["error"] == "No file provided"


async def test_missing_format_is_400_no_format_specified(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    status, body = await post_voters(import_client, admin_token, upload_form("ncvoter32.txt", NC_FILE))
    assert (status, body["error"]) == (400, "No format specified")
    assert stored_files(import_settings) == []


async def test_unsupported_format_is_400_with_supported_formats(
    import_client: TestClient, admin_token: str
) -> None:
    form = upload_form("a.txt", NC_FILE, before={"format": "dbase"})
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 400
    assert body["error"] == "Unsupported format: dbase"
    assert {"ncsbe", "simple_csv", "auto"} <= set(body["supportedFormats"])


async def test_incremental_on_a_format_without_it_is_400(import_client: TestClient, admin_token: str) -> None:
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv", "importType": "incremental"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["error"]) == (400, 'Format "simple_csv" does not support incremental imports')


async def test_wrong_extension_is_400(import_client: TestClient, admin_token: str) -> None:
    form = upload_form("ncvoter32.pdf", NC_FILE, before={"format": "ncsbe"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["error"]) == (400, 'Invalid file extension for format "ncsbe". Expected: .txt, .tsv')


async def test_invalid_import_type_is_400(import_client: TestClient, admin_token: str) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe", "importType": "sometimes"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["error"]) == (400, 'Invalid importType. Must be "full" or "incremental"')
    assert body["field"] == "importType"


async def test_a_refusal_while_the_file_still_streams_keeps_the_importers_message(
    import_client: TestClient, admin_token: str
) -> None:
    # The importer refuses on the header while the gateway is still writing chunks; a write racing
    # that answer fails as INTERNAL in grpc, which must not hide the real 400.
    data = b"x" * (4 * 1024 * 1024)
    form = upload_form("ncvoter32.txt", data, before={"format": "ncsbe", "importType": "sometimes"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["error"]) == (400, 'Invalid importType. Must be "full" or "incremental"')


async def test_a_file_whose_sha256_differs_from_the_given_one_is_400_naming_sha256(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv"}, after={"sha256": "0" * 64})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["field"]) == (400, "sha256")
    assert "changed on the way" in body["error"]
    assert stored_files(import_settings) == []


async def test_a_file_with_its_sha256_is_accepted(import_client: TestClient, admin_token: str) -> None:
    digest = hashlib.sha256(SIMPLE_CSV).hexdigest()
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv", "sha256": digest})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["sha256"]) == (202, digest)


async def test_a_mapping_that_is_not_a_json_object_is_400_naming_mapping(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    form = upload_form("list.csv", SIMPLE_CSV, before={"format": "csv_mapped"}, after={"mapping": "[1]"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["field"]) == (400, "mapping")
    await eventually(lambda: stored_files(import_settings) == [], what="the stored file's removal")


async def test_upload_over_the_limit_is_413_and_leaves_no_file(
    make_client: ClientFactory, import_settings: Settings, importer_app: ImporterApp, admin_token: str
) -> None:
    limit = 600 * 1024
    client = await make_client(
        import_settings, importer_grpc_addr=f"127.0.0.1:{importer_app.port}", upload_max_bytes=limit
    )
    head, tail = multipart_bytes("big.txt", b"x" * (4 * limit), {"format": "ncsbe"})
    pieces = [head[i : i + 64 * 1024] for i in range(0, len(head), 64 * 1024)] + [tail]

    async def partial_file_exists_below_the_limit(index: int) -> None:
        # Prove the importer had begun storing before the limit was passed (at 512 KiB; the gateway
        # reads a little ahead of what it forwards, so not at the very start).
        if index == 8:
            await eventually(lambda: any(stored_files(import_settings)), what="a partial upload file")

    response = await client.post(
        VOTERS_IMPORT,
        data=chunked(pieces, before_each=partial_file_exists_below_the_limit),
        headers={**bearer(admin_token), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status == 413
    assert "error" in await response.json()
    await eventually(lambda: stored_files(import_settings) == [], what="the partial file's removal")


async def test_viewer_cannot_upload(client: TestClient, viewer_token: str) -> None:
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv"})
    status, body = await post_voters(client, viewer_token, form)
    assert (status, body["error"]) == (403, "Insufficient permissions")


async def test_audit_log_records_voter_import_queued(
    import_client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    user_id, token = admin
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv"})
    status, body = await post_voters(import_client, token, form)
    assert status == 202, body
    async with sessions() as session:
        row = (await session.execute(select(AuditLog))).scalar_one()
    assert (row.action, row.resource, row.resource_id, row.user_id) == (
        "VOTER_IMPORT_QUEUED",
        "job",
        body["jobId"],
        user_id,
    )
    assert json.loads(row.details) == {
        "format": "simple_csv",
        "importType": "full",
        "filename": "people.csv",
        "sizeBytes": len(SIMPLE_CSV),
        "sha256": body["sha256"],
    }


async def test_a_repeated_idempotency_key_returns_the_first_job_without_a_second_audit_row(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    headers = {"Idempotency-Key": "voters-2024-05"}
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv"})
    first_status, first = await post_voters(import_client, admin_token, form, **headers)
    form = upload_form("people.csv", SIMPLE_CSV, before={"format": "simple_csv"})
    again_status, again = await post_voters(import_client, admin_token, form, **headers)
    assert (first_status, again_status) == (202, 200)
    assert again["jobId"] == first["jobId"]
    assert (again["formatId"], again["sha256"]) == ("simple_csv", first["sha256"])
    assert await count(sessions, AuditLog) == 1


# ---- parcels ------------------------------------------------------------------------------------


async def test_parcel_geojson_upload_creates_a_parcel_import_job(
    import_client: TestClient, admin_token: str
) -> None:
    data = json.dumps(parcels_document()).encode()
    form = upload_form("parcels.geojson", data, before={"source": "durham"})
    response = await import_client.post(PARCELS_IMPORT, data=form, headers=bearer(admin_token))
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["message"] == f"Parcel import job created. Watch job {body['jobId']} for progress."
    job = await wait_for_status(import_client, admin_token, body["jobId"], "completed", "failed", timeout=20)
    assert (job["status"], job["type"]) == ("completed", "parcel_import")
    listing = await import_client.get("/api/v1/gis/parcels?zipCode=27701", headers=bearer(admin_token))
    page = await listing.json()
    assert page["total"] == 2
    assert page["pagination"] == {"limit": 50, "offset": 0, "remaining": 0}
    parcel = next(p for p in page["parcels"] if p["apn"] == "200-1")
    assert set(parcel) == PARCEL_KEYS
    assert parcel["source"] == "durham"
    assert parcel["centroidLongitude"] == pytest.approx(-78.8995)
    assert parcel["centroidLatitude"] == pytest.approx(35.9905)


async def test_parcel_json_body_form_is_accepted(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    response = await import_client.post(
        PARCELS_IMPORT, json={"data": parcels_document()}, headers=bearer(admin_token)
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["jobId"]
    job = await wait_for_status(import_client, admin_token, job_id, "completed", "failed", timeout=20)
    assert job["status"] == "completed", job["failureReason"]
    assert json.loads(job["data"])["filename"] == "body.geojson"
    assert await count(sessions, Parcel) == 2


async def test_parcel_json_body_with_csv_text_is_accepted(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    text = csv_bytes(
        ["APN", "SITE_ADDR", "ZIP", "LATITUDE", "LONGITUDE"], [["A1", "1 OAK ST", "27701", "36", "-79"]]
    )
    response = await import_client.post(
        PARCELS_IMPORT, json={"data": text.decode(), "format": "csv"}, headers=bearer(admin_token)
    )
    assert response.status == 202, await response.text()
    job = await wait_for_status(
        import_client, admin_token, (await response.json())["jobId"], "completed", "failed", timeout=20
    )
    assert job["status"] == "completed", job["failureReason"]
    assert await count(sessions, Parcel) == 1


async def test_parcel_json_body_without_data_is_400(client: TestClient, admin_token: str) -> None:
    response = await client.post(PARCELS_IMPORT, json={"format": "geojson"}, headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["error"] == "Missing data field"


async def test_audit_log_records_parcel_import(
    import_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    response = await import_client.post(
        PARCELS_IMPORT, json={"data": parcels_document()}, headers=bearer(admin_token)
    )
    assert response.status == 202
    async with sessions() as session:
        row = (await session.execute(select(AuditLog))).scalar_one()
    assert (row.action, row.resource_id) == ("PARCEL_IMPORT", (await response.json())["jobId"])
    assert json.loads(row.details)["format"] == "geojson"


async def test_parcel_page_over_500_is_400_naming_limit(client: TestClient, viewer_token: str) -> None:
    response = await client.get("/api/v1/gis/parcels?limit=501", headers=bearer(viewer_token))
    assert response.status == 400
    assert (await response.json())["field"] == "limit"


async def test_parcel_bad_zip_code_is_400_naming_zip_code(client: TestClient, viewer_token: str) -> None:
    response = await client.get("/api/v1/gis/parcels?zipCode=abc", headers=bearer(viewer_token))
    assert response.status == 400
    assert (await response.json())["field"] == "zipCode"


async def test_a_voter_file_in_another_format_is_400_naming_the_one_it_looks_like(
    import_client: TestClient, admin_token: str
) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "florida"})
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 400
    assert body["field"] == "format"
    assert body["error"].startswith("Cannot read the file as florida: 7 of its first 7 rows fail")
    assert body["error"].endswith("It looks like ncsbe: choose that format, or auto.")


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_voter_import_can_be_scheduled_with_a_run_at_field(
    import_client: TestClient, admin_token: str, where: str
) -> None:
    later = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
    fields = {"format": "ncsbe"}
    form = upload_form(
        "ncvoter32.txt",
        NC_FILE,
        before={**fields, **({"runAt": later.isoformat()} if where == "before" else {})},
        after={"runAt": later.isoformat()} if where == "after" else None,
    )
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    job = await fetch_job(import_client, admin_token, body["jobId"])
    assert job["status"] == "pending"
    assert datetime.fromisoformat(job["notBefore"]) == later


async def test_an_import_scheduled_too_far_ahead_is_400_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    far = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe", "runAt": far})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["error"], body["field"]) == (400, "runAt must be at most 30 days from now", "runAt")
    assert stored_files(import_settings) == []


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_voter_import_can_wait_for_another_job_with_a_depends_on_field(
    import_client: TestClient, admin_token: str, where: str
) -> None:
    first = (await delayed_job(import_client, admin_token))["id"]
    fields = {"format": "ncsbe"}
    form = upload_form(
        "ncvoter32.txt",
        NC_FILE,
        before={**fields, **({"dependsOn": first} if where == "before" else {})},
        after={"dependsOn": first} if where == "after" else None,
    )
    status, body = await post_voters(import_client, admin_token, form)
    assert status == 202, body
    job = await fetch_job(import_client, admin_token, body["jobId"])
    assert (job["status"], job["waitingFor"]) == ("pending", [first])


async def test_an_import_depending_on_no_such_job_is_400_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe", "dependsOn": "cnosuchjob"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["error"], body["field"]) == (
        400,
        "dependsOn names no job: 'cnosuchjob'",
        "dependsOn",
    )
    assert stored_files(import_settings) == []


async def import_job_with_fields(
    client: TestClient, token: str, fields: dict[str, str], where: str
) -> dict[str, Any]:
    """The job of a voter upload whose form has ``fields`` before or after the file."""
    form = upload_form(
        "ncvoter32.txt",
        NC_FILE,
        before={"format": "ncsbe", **(fields if where == "before" else {})},
        after=fields if where == "after" else None,
    )
    status, body = await post_voters(client, token, form)
    assert status == 202, body
    return await fetch_job(client, token, body["jobId"])


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_voter_import_takes_a_priority_field(
    import_client: TestClient, admin_token: str, where: str
) -> None:
    job = await import_job_with_fields(import_client, admin_token, {"priority": "25"}, where)
    assert job["priority"] == 25


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_voter_import_takes_its_own_limits(
    import_client: TestClient, admin_token: str, where: str
) -> None:
    fields = {"maxAttempts": "4", "timeoutSeconds": "7200"}
    job = await import_job_with_fields(import_client, admin_token, fields, where)
    assert (job["maxAttempts"], job["timeoutSeconds"]) == (4, 7200)


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_voter_import_takes_a_group_field(
    import_client: TestClient, admin_token: str, where: str
) -> None:
    job = await import_job_with_fields(import_client, admin_token, {"group": "Durham County"}, where)
    assert job["group"] == "Durham County"


async def test_a_form_field_that_is_not_utf8_is_400_naming_it_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    head, tail = multipart_bytes(
        "ncvoter32.txt", NC_FILE, {"format": "ncsbe", "group": "caf\xe9".encode("latin-1")}
    )
    response = await import_client.post(
        VOTERS_IMPORT,
        data=head + tail,
        headers={**bearer(admin_token), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    body = await response.json()
    assert (response.status, body["field"], body["error"]) == (
        400,
        "group",
        "Form field group must be UTF-8 text",
    )
    assert stored_files(import_settings) == []


async def test_an_import_with_a_bad_group_is_400_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe", "group": "g" * 101})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["field"]) == (400, "group")
    assert stored_files(import_settings) == []


@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_voter_import_takes_an_expiry_field(
    import_client: TestClient, admin_token: str, where: str
) -> None:
    expires = datetime.now(UTC) + timedelta(hours=6)
    job = await import_job_with_fields(import_client, admin_token, {"expiresAt": expires.isoformat()}, where)
    assert datetime.fromisoformat(job["expiresAt"]) == pytest.approx(expires, abs=timedelta(seconds=1))


async def test_an_import_with_an_expiry_in_the_past_is_400_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe", "expiresAt": past})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["field"], body["error"]) == (400, "expiresAt", "expiresAt must be in the future")
    assert stored_files(import_settings) == []


async def test_an_import_with_an_out_of_range_limit_is_400_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe", "maxAttempts": "99"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["field"]) == (400, "maxAttempts")
    assert stored_files(import_settings) == []


async def test_an_import_with_an_out_of_range_priority_is_400_and_keeps_nothing(
    import_client: TestClient, admin_token: str, import_settings: Settings
) -> None:
    form = upload_form("ncvoter32.txt", NC_FILE, before={"format": "ncsbe"}, after={"priority": "9999"})
    status, body = await post_voters(import_client, admin_token, form)
    assert (status, body["field"]) == (400, "priority")
    # The gateway refuses the field that came after the file while the importer still stores it:
    # the importer removes its partial file once the cancelled stream reaches it.
    await eventually(lambda: stored_files(import_settings) == [], what="the partial file's removal")


async def test_a_parcel_import_body_takes_a_priority(import_client: TestClient, admin_token: str) -> None:
    body = {"data": parcels_document(), "priority": 4}
    response = await import_client.post(PARCELS_IMPORT, json=body, headers=bearer(admin_token))
    assert response.status == 202, await response.text()
    job_id = (await response.json())["jobId"]
    job = await fetch_job(import_client, admin_token, job_id)
    assert job["priority"] == 4


async def test_a_parcel_import_body_takes_its_own_limits(import_client: TestClient, admin_token: str) -> None:
    body = {"data": parcels_document(), "maxAttempts": 2, "timeoutSeconds": 300}
    response = await import_client.post(PARCELS_IMPORT, json=body, headers=bearer(admin_token))
    assert response.status == 202, await response.text()
    job_id = (await response.json())["jobId"]
    job = await fetch_job(import_client, admin_token, job_id)
    assert (job["maxAttempts"], job["timeoutSeconds"]) == (2, 300)


async def test_a_parcel_import_body_takes_a_group(import_client: TestClient, admin_token: str) -> None:
    body = {"data": parcels_document(), "group": "wake"}
    response = await import_client.post(PARCELS_IMPORT, json=body, headers=bearer(admin_token))
    assert response.status == 202, await response.text()
    job = await fetch_job(import_client, admin_token, (await response.json())["jobId"])
    assert job["group"] == "wake"


async def test_a_parcel_import_body_may_wait_for_another_job(
    import_client: TestClient, admin_token: str
) -> None:
    first = (await delayed_job(import_client, admin_token))["id"]
    body = {"data": parcels_document(), "dependsOn": [first]}
    response = await import_client.post(PARCELS_IMPORT, json=body, headers=bearer(admin_token))
    assert response.status == 202, await response.text()
    job_id = (await response.json())["jobId"]
    job = await fetch_job(import_client, admin_token, job_id)
    assert (job["status"], job["waitingFor"]) == ("pending", [first])
