"""The offline ``parcel`` provider: households and lookups placed at the centroid of their parcel."""

from __future__ import annotations

from geocoder_system import Services, households, run_job
from household_seed import seed_households, seed_parcels

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.geocoder.v1 import geocoder_pb2 as gpb
from cocoa_common.models import PARCEL_ADDRESS_COLUMNS
from cocoa_geocoder.households import StreetAddress

DURHAM = [
    ("10 Oak St", "Durham", "NC", "27701", "Durham", "05"),
    ("10 Oak Street Apt 2", "Durham", "NC", "27701", "Durham", "05"),
    ("12 N Oak St", "Durham", "NC", "27701", "Durham", "05"),
    ("14 Oak St", "Durham", "NC", "27701", "Durham", "05"),
]


async def geocode_with_parcels(services: Services) -> cpb.Job:
    job = await run_job(services, {"filters": {"zipCode": "27701"}, "providerId": "parcel"})
    assert job.status == cpb.JOB_STATUS_COMPLETED, job.failure_reason
    return job


async def test_households_get_the_centroid_of_the_parcel_at_their_address(services: Services) -> None:
    await seed_households(services.settings.database_url, DURHAM[:2])
    await seed_parcels(
        services.settings.database_url, [("P10", "county", "10 OAK ST", "27701", 35.99, -78.9)]
    )
    job = await geocode_with_parcels(services)
    assert (job.processed_items, job.failed_items) == (2, 0)
    found = await households(services.settings.database_url)
    for address in ("10 OAK ST, DURHAM, NC 27701", "10 OAK ST APT 2, DURHAM, NC 27701"):
        household = found[address]
        assert (household.latitude, household.longitude) == (35.99, -78.9)
        assert (household.geocoding_provider, household.geocode_precision) == ("parcel", "parcel")


async def test_a_parcel_in_another_zip_or_with_another_direction_is_no_match(services: Services) -> None:
    await seed_households(services.settings.database_url, DURHAM[2:3])
    await seed_parcels(
        services.settings.database_url,
        [
            ("P1", "county", "12 OAK ST", "27701", 35.0, -78.0),
            ("P2", "county", "12 N OAK ST", "27705", 35.0, -78.0),
        ],
    )
    job = await geocode_with_parcels(services)
    assert (job.processed_items, job.failed_items) == (0, 1)
    assert [e.message for e in job.recent_errors] == ["parcel: No match"]


async def test_the_newest_parcel_with_a_centroid_at_an_address_places_it(services: Services) -> None:
    await seed_households(services.settings.database_url, DURHAM[3:4])
    await seed_parcels(
        services.settings.database_url,
        [
            ("OLD", "county", "14 OAK ST", "27701", 35.1, -78.1),
            ("NEW", "city", "14 OAK ST", "27701", 35.2, -78.2),
            ("NO-GEOMETRY", "city", "14 OAK ST", "27701", None, None),
        ],
    )
    await geocode_with_parcels(services)
    household = (await households(services.settings.database_url))["14 OAK ST, DURHAM, NC 27701"]
    assert (household.latitude, household.longitude) == (35.2, -78.2)


async def test_lookups_without_a_zip_are_refused_with_the_reason(services: Services) -> None:
    await seed_parcels(
        services.settings.database_url, [("P10", "county", "10 OAK ST", "27701", 35.99, -78.9)]
    )
    response = await services.geo.Geocode(
        gpb.GeocodeRequest(
            addresses=[
                gpb.AddressInput(id="zip", one_line="10 Oak St, Durham, NC 27701"),
                gpb.AddressInput(id="nozip", street="10 Oak St", city="Durham", state="NC"),
            ],
            provider_id="parcel",
        )
    )
    placed, refused = response.results
    assert (placed.matched, placed.precision, placed.latitude) == (True, "parcel", 35.99)
    assert not refused.matched
    assert "No ZIP code" in refused.error


def test_the_provider_matches_on_the_columns_that_link_households_to_parcels() -> None:
    assert StreetAddress._fields == PARCEL_ADDRESS_COLUMNS
