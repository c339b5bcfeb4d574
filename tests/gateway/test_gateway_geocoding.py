"""Geocoding routes: validation in the gateway; counting, look-ups and imports through the real
geocoder server (those tests skip until ``cocoa_geocoder.server`` exists)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from gateway_helpers import Sessions, bearer, delayed_job, fetch_job, household, seed_households
from sqlalchemy import select
from yarl import URL

from cocoa_common.models import AuditLog

HOUSEHOLD_KEYS = {
    "id",
    "houseNumber",
    "preDirection",
    "streetName",
    "streetSuffix",
    "postDirection",
    "unitType",
    "unit",
    "city",
    "state",
    "zipCode",
    "county",
    "precinctNumber",
    "fullAddress",
    "personCount",
    "latitude",
    "longitude",
    "geocoded",
    "geocodedAt",
    "geocodingProvider",
    "geocodePrecision",
    "geocodeConfidence",
    "geocodeError",
    "parcelId",
}
RESULT_KEYS = {
    "id",
    "input",
    "matched",
    "latitude",
    "longitude",
    "precision",
    "confidence",
    "matchedAddress",
    "provider",
    "error",
}
OPENADDRESSES_CSV = (
    "LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
    "-122.2711,37.8044,1,Main St,,Oakland,,CA,94612,,a1\n"
    "-122.2712,37.8045,3,Main St,,Oakland,,CA,94612,,a2\n"
)


async def _oakland(sessions: Sessions, count: int = 3, **fields: object) -> None:
    await seed_households(
        sessions, [household(f"oak-{i}", house_number=str(i), **fields) for i in range(count)]
    )


# ---- validation (no geocoder needed) ---------------------------------------


async def test_geocode_without_filter_is_400_with_supported_filters(
    client: TestClient, admin_token: str
) -> None:
    response = await client.post("/api/v1/gis/households/geocode?limit=5", headers=bearer(admin_token))
    assert response.status == 400
    body = await response.json()
    assert (
        body["error"] == "At least one filter must be provided (city, state, zipCode, county, precinctNumber)"
    )
    assert body["supportedFilters"] == ["city", "state", "zipCode", "county", "precinctNumber"]


async def test_limit_out_of_range_is_400_naming_limit(client: TestClient, admin_token: str) -> None:
    response = await client.post(
        "/api/v1/gis/households/geocode?city=Oakland&limit=100001", headers=bearer(admin_token)
    )
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "limit"
    assert "limit" in body["error"]


async def test_non_boolean_skip_geocoded_is_400_naming_it(client: TestClient, admin_token: str) -> None:
    response = await client.post(
        "/api/v1/gis/households/geocode?city=Oakland&skipGeocoded=maybe", headers=bearer(admin_token)
    )
    assert response.status == 400
    assert (await response.json())["field"] == "skipGeocoded"


async def test_malformed_zip_code_is_400_naming_zip_code(client: TestClient, admin_token: str) -> None:
    response = await client.post("/api/v1/gis/households/geocode?zipCode=9461", headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["field"] == "zipCode"


async def test_geocoding_job_with_unknown_mode_is_400_naming_mode(
    client: TestClient, admin_token: str
) -> None:
    body = {"filters": {"city": "Oakland"}, "mode": "turbo"}
    response = await client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 400
    assert await response.json() == {
        "success": False,
        "error": "mode must be static or dynamic",
        "field": "mode",
    }


async def test_more_than_1000_addresses_is_413(client: TestClient, viewer_token: str) -> None:
    addresses = ["1 Main St, Oakland, CA 94612"] * 1001
    response = await client.post(
        "/api/v1/gis/geocode", json={"addresses": addresses}, headers=bearer(viewer_token)
    )
    assert response.status == 413
    assert "1000" in (await response.json())["error"]


async def test_empty_address_list_is_400(client: TestClient, viewer_token: str) -> None:
    response = await client.post("/api/v1/gis/geocode", json={"addresses": []}, headers=bearer(viewer_token))
    assert response.status == 400
    assert (await response.json())["field"] == "addresses"


async def test_household_page_over_500_is_400_naming_limit(client: TestClient, viewer_token: str) -> None:
    response = await client.get("/api/v1/gis/households?limit=501", headers=bearer(viewer_token))
    assert response.status == 400
    assert (await response.json())["field"] == "limit"


async def test_upload_over_the_limit_is_413_before_reading_it(
    client: TestClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cocoa_gateway.handlers import address_points

    monkeypatch.setattr(address_points, "MAX_BYTES", 10)
    response = await client.post(
        "/api/v1/gis/address-points/import",
        data=OPENADDRESSES_CSV.encode(),
        headers={**bearer(admin_token), "Content-Type": "text/csv"},
    )
    assert response.status == 413
    assert "error" in await response.json()


# ---- through the real geocoder ---------------------------------------------


async def test_unknown_provider_is_400_naming_provider_id(
    geo_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions)
    response = await geo_client.post(
        "/api/v1/gis/households/geocode?city=Oakland&providerId=nope", headers=bearer(admin_token)
    )
    assert response.status == 400
    assert (await response.json())["field"] == "providerId"


async def test_no_matching_households_is_404_with_filters(geo_client: TestClient, admin_token: str) -> None:
    response = await geo_client.post(
        "/api/v1/gis/households/geocode?city=Nowhere&state=ca", headers=bearer(admin_token)
    )
    assert response.status == 404
    assert await response.json() == {
        "error": "No households found matching the specified filters",
        "filters": {"city": "Nowhere", "state": "CA"},
    }


async def test_geocode_households_queues_a_job_for_at_most_limit_households(
    geo_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions, 3)
    response = await geo_client.post(
        "/api/v1/gis/households/geocode?city=oakland&zipCode=94612-1234&limit=2", headers=bearer(admin_token)
    )
    assert response.status == 202
    body = await response.json()
    assert body["message"] == "Geocoding job created for 2 households"
    assert (body["estimatedHouseholds"], body["limit"], body["processingStarted"]) == (2, 2, True)
    assert body["matchingHouseholds"] == 3  # the one left over waits for another job
    job = await fetch_job(geo_client, admin_token, body["jobId"])
    assert job["type"] == "geocode_households"
    assert json.loads(job["data"]) == {
        "filters": {"city": "oakland", "zipCode": "94612"},
        "limit": 2,
        "skipGeocoded": True,
        "providerId": None,
    }


async def test_skip_geocoded_leaves_geocoded_households_out_of_the_count(
    geo_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions, 2)
    await seed_households(sessions, [household("done-1", geocoded=True, latitude=37.8, longitude=-122.27)])
    response = await geo_client.post("/api/v1/gis/households/geocode?state=CA", headers=bearer(admin_token))
    assert (await response.json())["estimatedHouseholds"] == 2


async def test_audit_log_records_geocode_queued_with_details(
    geo_client: TestClient, admin: tuple[str, str], sessions: Sessions
) -> None:
    user_id, token = admin
    await _oakland(sessions, 3)
    response = await geo_client.post(
        "/api/v1/gis/households/geocode?county=Alameda&limit=10", headers=bearer(token)
    )
    job_id = (await response.json())["jobId"]
    async with sessions() as session:
        row = (await session.execute(select(AuditLog))).scalar_one()
    assert (row.action, row.resource_id, row.user_id) == ("HOUSEHOLDS_GEOCODE_QUEUED", job_id, user_id)
    assert json.loads(row.details) == {
        "city": None,
        "state": None,
        "zipCode": None,
        "county": "Alameda",
        "precinctNumber": None,
        "limit": 10,
        "estimatedHouseholds": 3,
        "providerId": None,
        "skipGeocoded": True,
    }


async def test_dynamic_geocoding_job_is_created_as_dynamic(
    geo_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions, 1)
    body = {"filters": {"city": "Oakland"}, "limit": 50, "skipGeocoded": False, "mode": "dynamic"}
    response = await geo_client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 202
    created = await response.json()
    assert {k: created[k] for k in ("success", "type", "mode", "status")} == {
        "success": True,
        "type": "geocoding",
        "mode": "dynamic",
        "status": "pending",
    }
    job = await fetch_job(geo_client, admin_token, created["jobId"])
    assert job["isDynamic"] is True
    assert job["type"] == "geocoding"


async def test_synchronous_geocode_answers_in_input_order(geo_client: TestClient, viewer_token: str) -> None:
    addresses = [
        {"id": "a", "street": "1 Main St", "city": "Oakland", "state": "CA", "zip": "94612"},
        "3 Main St, Oakland, CA 94612",
        {"id": "c", "street": "5 Nowhere Rd", "city": "Nowhere", "state": "ZZ", "zip": "00000"},
    ]
    response = await geo_client.post(
        "/api/v1/gis/geocode", json={"addresses": addresses}, headers=bearer(viewer_token)
    )
    assert response.status == 200
    results = (await response.json())["results"]
    assert len(results) == 3
    assert all(set(r) == RESULT_KEYS for r in results)
    assert (results[0]["id"], results[2]["id"]) == ("a", "c")


async def test_households_list_reports_total_and_remaining(
    geo_client: TestClient, viewer_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions, 5)
    response = await geo_client.get(
        "/api/v1/gis/households?city=Oakland&limit=2&offset=1", headers=bearer(viewer_token)
    )
    body = await response.json()
    assert body["total"] == 5
    assert body["pagination"] == {"limit": 2, "offset": 1, "remaining": 2}
    assert len(body["households"]) == 2
    assert set(body["households"][0]) == HOUSEHOLD_KEYS


async def test_households_filter_by_geocoded(
    geo_client: TestClient, viewer_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions, 2)
    await seed_households(sessions, [household("done-1", geocoded=True, latitude=37.8, longitude=-122.27)])
    response = await geo_client.get("/api/v1/gis/households?geocoded=true", headers=bearer(viewer_token))
    body = await response.json()
    assert body["total"] == 1
    assert body["households"][0]["latitude"] == pytest.approx(37.8)


async def test_address_points_import_streams_a_multipart_file(
    geo_client: TestClient, admin_token: str
) -> None:
    form = FormData()
    form.add_field("file", OPENADDRESSES_CSV.encode(), filename="oakland.csv", content_type="text/csv")
    response = await geo_client.post(
        "/api/v1/gis/address-points/import", data=form, headers=bearer(admin_token)
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["imported"], body["rejected"]) == (2, 0)


async def test_address_points_import_accepts_a_raw_csv_body(geo_client: TestClient, admin_token: str) -> None:
    response = await geo_client.post(
        "/api/v1/gis/address-points/import?source=oakland",
        data=OPENADDRESSES_CSV.encode(),
        headers={**bearer(admin_token), "Content-Type": "text/csv"},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["imported"] == 2


async def test_viewer_cannot_import_address_points(client: TestClient, viewer_token: str) -> None:
    response = await client.post(
        "/api/v1/gis/address-points/import",
        data=b"x",
        headers={**bearer(viewer_token), "Content-Type": "text/csv"},
    )
    assert response.status == 403


async def test_providers_are_listed_with_their_place_in_the_default_chain(
    geo_client: TestClient, viewer_token: str
) -> None:
    response = await geo_client.get("/api/v1/gis/providers", headers=bearer(viewer_token))
    assert response.status == 200
    body = await response.json()
    by_id = {p["id"]: p for p in body["providers"]}
    assert (body["success"], body["count"]) == (True, len(by_id))
    assert by_id["local"] == {"id": "local", "inDefaultChain": True, "offline": True}
    assert by_id["zip_centroid"]["inDefaultChain"] is True
    assert by_id["census"] == {"id": "census", "inDefaultChain": False, "offline": False}


async def test_providers_need_a_token(geo_client: TestClient) -> None:
    response = await geo_client.get("/api/v1/gis/providers")
    assert response.status == 401


async def test_a_geocoding_job_can_be_scheduled_for_later(
    geo_client: TestClient, admin_token: str, sessions: Sessions
) -> None:
    await _oakland(sessions)
    body = {"filters": {"city": "Oakland"}, "runAt": "2030-01-01T00:00:00Z"}
    response = await geo_client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 400  # more than 30 days ahead
    assert (await response.json())["field"] == "runAt"
    soon = datetime.now(UTC) + timedelta(hours=8)
    body["runAt"] = soon.isoformat()
    response = await geo_client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    job_id = (await response.json())["jobId"]
    job = await fetch_job(geo_client, admin_token, job_id)
    assert job["status"] == "pending"
    assert datetime.fromisoformat(job["notBefore"]) == pytest.approx(soon, abs=timedelta(seconds=1))


async def test_a_geocode_that_waits_for_another_job_is_queued_before_any_household_matches(
    geo_client: TestClient, admin_token: str
) -> None:
    first = (await delayed_job(geo_client, admin_token))["id"]
    response = await geo_client.post(
        "/api/v1/gis/households/geocode",
        params={"city": "Nowhere", "dependsOn": first},
        headers=bearer(admin_token),
    )
    assert response.status == 202
    body = await response.json()
    assert (
        body["message"] == f"Geocoding job created; after {first} it geocodes up to 10000 matching households"
    )
    job = await fetch_job(geo_client, admin_token, body["jobId"])
    assert (job["status"], job["waitingFor"]) == ("pending", [first])


async def test_a_geocoding_job_body_may_wait_for_another_job(
    geo_client: TestClient, admin_token: str
) -> None:
    first = (await delayed_job(geo_client, admin_token))["id"]
    body = {"filters": {"city": "Nowhere"}, "dependsOn": [first]}
    response = await geo_client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 202
    job_id = (await response.json())["jobId"]
    job = await fetch_job(geo_client, admin_token, job_id)
    assert job["dependsOn"] == [first]


async def test_a_geocode_depending_on_no_such_job_is_400_naming_depends_on(
    geo_client: TestClient, admin_token: str
) -> None:
    response = await geo_client.post(
        "/api/v1/gis/households/geocode",
        params={"city": "Nowhere", "dependsOn": "cnosuchjob"},
        headers=bearer(admin_token),
    )
    assert response.status == 400
    assert (await response.json())["field"] == "dependsOn"


# A job's options on the geocoding routes, as the job then shows them.
JOB_OPTIONS = [{"priority": -4}, {"maxAttempts": 6, "timeoutSeconds": 900}, {"group": "campaign-7"}]


@pytest.mark.parametrize("options", JOB_OPTIONS)
async def test_a_households_geocode_takes_the_job_s_options(
    geo_client: TestClient, admin_token: str, options: dict[str, Any]
) -> None:
    first = (await delayed_job(geo_client, admin_token))["id"]
    query = {"city": "Nowhere", "dependsOn": first, **{k: str(v) for k, v in options.items()}}
    response = await geo_client.post(
        "/api/v1/gis/households/geocode", params=query, headers=bearer(admin_token)
    )
    assert response.status == 202
    job = await fetch_job(geo_client, admin_token, (await response.json())["jobId"])
    assert {k: job[k] for k in options} == options


@pytest.mark.parametrize("options", JOB_OPTIONS)
async def test_a_geocoding_job_body_takes_the_job_s_options(
    geo_client: TestClient, admin_token: str, options: dict[str, Any]
) -> None:
    body = {"filters": {"city": "Nowhere"}, "mode": "dynamic", **options}
    response = await geo_client.post("/api/v1/jobs/geocoding", json=body, headers=bearer(admin_token))
    assert response.status == 202
    job = await fetch_job(geo_client, admin_token, (await response.json())["jobId"])
    assert {k: job[k] for k in options} == options


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"city": "Oakland", "runAt": "2026-12-06T02:00:00"}, "runAt"),  # no zone
        ({"city": "Durham", "timeoutSeconds": "forever"}, "timeoutSeconds"),
        ({"city": "Durham", "priority": "urgent"}, "priority"),
    ],
)
async def test_a_bad_job_option_on_a_households_geocode_is_400_naming_it(
    client: TestClient, admin_token: str, params: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/gis/households/geocode", params=params, headers=bearer(admin_token))
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_a_geocode_whose_group_is_not_utf8_is_400_and_creates_no_job(
    geo_client: TestClient, admin_token: str
) -> None:
    url = URL("/api/v1/gis/households/geocode?city=Nowhere&group=caf%E9", encoded=True)
    response = await geo_client.post(url, headers=bearer(admin_token))
    assert (response.status, (await response.json())["field"]) == (400, "group")
    listed = await (await geo_client.get("/api/v1/jobs", headers=bearer(admin_token))).json()
    assert listed["total"] == 0
