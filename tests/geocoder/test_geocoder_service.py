"""The geocoder service end to end in-process: real coordinator and geocoder gRPC servers, PostgreSQL,
and loopback fakes for the online providers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest
from geocoder_fakes import FakeService
from geocoder_system import Services, households, import_points, run_job, start_services
from household_seed import openaddresses_csv, seed_households, seed_voters

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.geocoder.v1 import geocoder_pb2 as gpb
from cocoa_common.settings import ProviderSettings, Settings
from cocoa_geocoder.server import start_geocoder

RALEIGH = [
    ("100 Main St", "Raleigh", "NC", "27601", "Wake", "01-01"),
    ("102 Main Street Apt 2", "raleigh", "NC", "27601", "Wake", "01-01"),
    ("7 Oak Ave", "Raleigh", "NC", "27603", "Wake", "01-02"),
    ("999 Nowhere Rd", "Raleigh", "NC", "27601", "Wake", "01-02"),
]
POINTS = [
    (-78.64, 35.77, "100", "MAIN ST", "RALEIGH", "NC", "27601"),
    (-78.65, 35.78, "102", "Main Street", "", "", ""),  # OpenAddresses rows often lack city and ZIP
    (-78.66, 35.79, "7", "OAK AVE", "RALEIGH", "NC", "27603"),
]


async def test_a_geocoding_job_writes_coordinates_from_imported_address_points(services: Services) -> None:
    await seed_households(services.settings.database_url, RALEIGH)
    report = await import_points(services.geo, openaddresses_csv(POINTS))
    assert (report.imported, report.rejected) == (3, 0)
    job = await run_job(services, {"filters": {"city": "RALEIGH"}, "providerId": "local"})
    assert job.status == cpb.JOB_STATUS_COMPLETED
    assert (job.total_items, job.processed_items, job.failed_items) == (4, 3, 1)
    found = await households(services.settings.database_url)
    main = found["100 MAIN ST, RALEIGH, NC 27601"]
    assert (main.latitude, main.longitude, main.geocoded) == (35.77, -78.64, True)
    assert (main.geocoding_provider, main.geocode_precision) == ("local", "rooftop")
    assert main.geocoded_at is not None
    assert found["102 MAIN ST APT 2, RALEIGH, NC 27601"].latitude == 35.78  # point without city or ZIP


async def test_an_address_no_provider_can_place_is_logged_on_the_job_and_the_household(
    services: Services,
) -> None:
    ids = await seed_households(services.settings.database_url, RALEIGH)
    job = await run_job(services, {"filters": {"zipCode": "27601-1234"}, "providerId": "local"})
    assert job.status == cpb.JOB_STATUS_COMPLETED
    assert job.failed_items == 3
    error_log = {e.item_ref: json.loads(e.detail_json) for e in job.recent_errors}
    assert error_log[str(ids[3])] == {
        "householdId": str(ids[3]),
        "address": "999 NOWHERE RD, RALEIGH, NC 27601",
    }
    assert all(e.message == "local: No match" for e in job.recent_errors)
    found = await households(services.settings.database_url)
    assert found["999 NOWHERE RD, RALEIGH, NC 27601"].geocode_error == "local: No match"
    assert not found["999 NOWHERE RD, RALEIGH, NC 27601"].geocoded


async def test_the_chain_falls_back_to_the_next_provider(services: Services) -> None:
    await seed_households(services.settings.database_url, RALEIGH)
    await import_points(services.geo, openaddresses_csv(POINTS))
    job = await run_job(services, {"filters": {"city": "Raleigh"}})
    assert (job.processed_items, job.failed_items) == (4, 0)
    stats = json.loads(job.output_stats_json)
    assert stats["byProvider"] == {"local": 3, "zip_centroid": 1}
    nowhere = (await households(services.settings.database_url))["999 NOWHERE RD, RALEIGH, NC 27601"]
    assert (nowhere.geocoding_provider, nowhere.geocode_precision) == ("zip_centroid", "zip")


async def test_skip_geocoded_leaves_geocoded_households_out_and_limit_caps_the_job(
    services: Services,
) -> None:
    await seed_households(services.settings.database_url, RALEIGH)
    first = await run_job(services, {"filters": {"state": "nc"}, "limit": 2, "providerId": "zip_centroid"})
    assert (first.total_items, first.processed_items) == (2, 2)
    second = await run_job(services, {"filters": {"state": "NC"}, "providerId": "zip_centroid"})
    assert second.total_items == 2
    again = await run_job(
        services, {"filters": {"state": "NC"}, "skipGeocoded": False, "providerId": "zip_centroid"}
    )
    assert again.total_items == 4


async def test_a_job_without_filters_fails_with_the_reason(services: Services) -> None:
    job = await run_job(services, {"filters": {}})
    assert job.status == cpb.JOB_STATUS_FAILED
    assert job.failure_reason.startswith("At least one filter must be provided")


@pytest.fixture
async def census_services(settings: Settings, census_fake: FakeService) -> AsyncIterator[Services]:
    census = ProviderSettings(census_fake.base_url, timeout_s=2.0, batch_timeout_s=2.0, batch_size=3)
    async for s in start_services(settings, census=census, geocoder_providers=("census", "zip_centroid")):
        yield s


async def test_census_batches_are_used_and_an_address_is_never_sent_twice(
    census_services: Services, census_fake: FakeService
) -> None:
    control = census_fake.control
    control.add_place("100 MAIN ST", 35.77, -78.64)
    control.add_place("7 OAK AVE", 35.79, -78.66)
    control.add_tie("102 MAIN ST APT 2")
    await seed_households(census_services.settings.database_url, RALEIGH)
    job = await run_job(census_services, {"filters": {"city": "Raleigh"}})
    assert (job.processed_items, job.failed_items) == (4, 0)
    batches = control.paths("/addressbatch")
    assert [len(r.rows) for r in batches] == [3]  # batch size 3; the fourth goes one-line
    assert len(control.paths("/onelineaddress")) == 1
    stats = json.loads(job.output_stats_json)
    assert stats["byProvider"] == {"census": 2, "zip_centroid": 2}
    sent = len(control.requests)
    again = await run_job(census_services, {"filters": {"city": "Raleigh"}, "skipGeocoded": False})
    assert again.processed_items == 4
    assert len(control.requests) == sent  # every location came from the cache
    assert json.loads(again.output_stats_json)["cacheHits"] == 4


async def test_census_outage_falls_back_and_records_the_reason(
    census_services: Services, census_fake: FakeService
) -> None:
    census_fake.control.fail_next("503", count=50)
    await seed_households(census_services.settings.database_url, RALEIGH[:1])
    job = await run_job(census_services, {"filters": {"city": "Raleigh"}})
    assert (job.processed_items, job.failed_items) == (1, 0)
    found = await households(census_services.settings.database_url)
    assert found["100 MAIN ST, RALEIGH, NC 27601"].geocoding_provider == "zip_centroid"


async def test_geocode_rpc_answers_in_input_order(services: Services) -> None:
    await import_points(services.geo, openaddresses_csv(POINTS))
    response = await services.geo.Geocode(
        gpb.GeocodeRequest(
            addresses=[
                gpb.AddressInput(id="a", one_line="7 Oak Ave, Raleigh, NC 27603"),
                gpb.AddressInput(id="b", street="999 Nowhere Rd", city="Nowhere", state="NC", zip="00000"),
                gpb.AddressInput(id="c", street="100 Main St", city="Raleigh", state="NC", zip="27601"),
            ]
        )
    )
    assert [r.id for r in response.results] == ["a", "b", "c"]
    assert (response.results[0].latitude, response.results[0].provider) == (35.79, "local")
    assert not response.results[1].matched
    assert "No match" in response.results[1].error
    assert response.results[2].matched


async def test_geocode_rpc_rejects_unknown_providers_and_oversized_requests(services: Services) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await services.geo.Geocode(
            gpb.GeocodeRequest(addresses=[gpb.AddressInput(one_line="1 A St")], provider_id="x")
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    too_many = [gpb.AddressInput(one_line="1 A St, X, NC 27601")] * 1001
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await services.geo.Geocode(gpb.GeocodeRequest(addresses=too_many))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_address_point_import_reports_bad_rows_with_line_numbers_and_keeps_the_rest(
    services: Services,
) -> None:
    csv = (
        b"\xef\xbb\xbfLON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID\n"
        b"-78.6,35.7,1,MAIN ST,,RALEIGH,,NC,27601,a\n"
        b"abc,35.7,2,MAIN ST,,RALEIGH,,NC,27601,b\n"
        b"-78.6,135.7,3,MAIN ST,,RALEIGH,,NC,27601,c\n"
        b"-78.6,35.7,,PO BOX 5,,RALEIGH,,NC,27601,d\n"
        b"\n"
        b"-78.6,35.7,5,Caf\xe9 St,,RALEIGH,,NC,27601,e\n"
    )
    report = await import_points(services.geo, csv)
    assert (report.imported, report.rejected) == (2, 3)
    assert [e.split(":")[0] for e in report.errors] == ["line 3", "line 4", "line 5"]


async def test_a_file_without_the_openaddresses_header_is_rejected(services: Services) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await import_points(services.geo, b"a,b,c\n1,2,3\n")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "LON,LAT,NUMBER,STREET" in info.value.details()


async def test_households_are_counted_and_listed_with_case_insensitive_filters(services: Services) -> None:
    await seed_households(services.settings.database_url, RALEIGH)
    count = await services.geo.CountHouseholds(
        gpb.CountHouseholdsRequest(
            filter=gpb.HouseholdFilter(city="raleigh", county="wake"), skip_geocoded=True
        )
    )
    assert count.count == 4
    page = await services.geo.ListHouseholds(
        gpb.ListHouseholdsRequest(filter=gpb.HouseholdFilter(zip_code="27601", search="main"), limit=1)
    )
    assert page.total == 2
    assert page.households[0].full_address == "100 MAIN ST, RALEIGH, NC 27601"


async def test_a_listed_household_counts_the_voters_living_there_now(services: Services) -> None:
    ids = await seed_households(services.settings.database_url, RALEIGH[:2])
    await seed_voters(services.settings.database_url, [ids[0], ids[0], ids[1], None])
    await seed_voters(services.settings.database_url, [ids[0]], moved_to=ids[1])
    page = await services.geo.ListHouseholds(
        gpb.ListHouseholdsRequest(filter=gpb.HouseholdFilter(), limit=10)
    )
    assert [h.person_count for h in page.households] == [2, 2]


async def test_a_geocoder_that_dies_mid_job_is_replaced_and_the_job_finishes_with_exact_counts(
    services: Services,
) -> None:
    # Enough households that the job is still running when the worker dies, however fast it is.
    total = 1500
    rows = [(f"{n} Elm St", "Durham", "NC", "27701", "Durham", "9") for n in range(1, total + 1)]
    await seed_households(services.settings.database_url, rows)
    slow = services.settings.with_overrides(geocoder_batch_size=10)
    await services.geocoder.stop(grace=0.1)
    services.geocoder = await start_geocoder(slow, "127.0.0.1:0", worker_id="first")
    job = (
        await services.jobs.CreateJob(
            cpb.CreateJobRequest(
                type="geocoding", data_json='{"filters": {"city": "Durham"}, "providerId": "zip_centroid"}'
            )
        )
    ).job
    for _ in range(200):
        current = await services.jobs.GetJob(cpb.GetJobRequest(id=job.id))
        if current.processed_items >= 50:
            break
        await asyncio.sleep(0.02)
    # Crash: the worker vanishes without reporting (its tasks die with the process).
    crashed = services.geocoder
    crashed.worker_task.cancel()
    await crashed.server.stop(0)
    await crashed._http.close()
    services.geocoder = await start_geocoder(slow, "127.0.0.1:0", worker_id="second")
    for _ in range(400):
        current = await services.jobs.GetJob(cpb.GetJobRequest(id=job.id))
        if current.status == cpb.JOB_STATUS_COMPLETED:
            break
        await asyncio.sleep(0.05)
    assert current.status == cpb.JOB_STATUS_COMPLETED
    assert (current.total_items, current.processed_items, current.failed_items) == (total, total, 0)
    assert current.attempt == 2
    assert all(h.geocoded for h in (await households(services.settings.database_url)).values())
