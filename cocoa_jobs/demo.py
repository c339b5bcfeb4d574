"""Demo data for ``make run``: a few thousand households in Raleigh, NC, with their voters, address
points for most of them, so a geocoding job completes offline with the ``local`` provider, and
parcels for some of their buildings, linked to their households (the ``parcel`` provider and
``GET /gis/parcels``)."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cocoa_common import db
from cocoa_common.address import NormalizedAddress, parse_street_line
from cocoa_common.ids import utcnow
from cocoa_common.models import AddressPoint, Household, Parcel, Voter
from cocoa_geocoder.local import street_key
from cocoa_importer.repository import ImportRepository

STREETS = [
    "Hillsborough St",
    "Glenwood Ave",
    "Oberlin Rd",
    "Wade Ave",
    "Peace St",
    "Fayetteville St",
    "Person St",
    "Blount St",
    "New Bern Ave",
    "Oakwood Ave",
    "Boylan Ave",
    "Morgan St",
    "Jones St",
    "Lane St",
    "Polk St",
    "Bloodworth St",
    "Edenton St",
    "Martin Luther King Jr Blvd",
    "Dawson St",
    "Saint Marys St",
    "Clark Ave",
    "Cameron St",
    "Dixie Trl",
    "Ridge Rd",
    "Lake Boone Trl",
]
PLACES = [("27601", "WAKE", 35.7796, -78.6382), ("27603", "WAKE", 35.7470, -78.6604),
          ("27604", "WAKE", 35.8180, -78.5660), ("27605", "WAKE", 35.7900, -78.6530),
          ("27608", "WAKE", 35.8080, -78.6460)]  # fmt: skip
DIRECTIONS = ["", "", "", "N ", "S ", "E ", "W "]
PARCEL_SOURCE = "demo-parcels"
PARCEL_SHARE = 0.4  # of the buildings
VOTER_SOURCE = "demo"
FIRST_NAMES = "JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM SARAH".split()
LAST_NAMES = "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS WILSON MOORE TAYLOR LEE".split()
PARTIES = ["DEM", "REP", "UNA", "LIB"]
HOUSEHOLD_SIZES = (1, 1, 1, 1, 2, 2, 2, 3, 3, 4)  # voters per household, drawn uniformly


async def households_exist(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(select(func.count()).select_from(Household))).scalar_one())


async def seed_demo(engine: AsyncEngine, households: int = 3000, seed: int = 7) -> int:
    """Insert ``households`` households (about 10% in apartments) with one to four voters each,
    address points for 95% of their buildings and parcels for 40% of those, linked to their
    households; returns the household count."""
    rng = random.Random(seed)
    now = utcnow()
    rows: dict[str, dict[str, object]] = {}
    points: dict[str, dict[str, object]] = {}
    buildings: list[NormalizedAddress] = []  # in the order of their points
    while len(rows) < households:
        zip_code, county, lat, lon = rng.choice(PLACES)
        line = f"{rng.randint(1, 4999)} {rng.choice(DIRECTIONS)}{rng.choice(STREETS)}"
        if rng.random() < 0.1:
            line += f" Apt {rng.randint(1, 24)}"
        address = parse_street_line(line, "Raleigh", "NC", zip_code)
        rows.setdefault(
            address.household_key(), household_values(address, county, f"{rng.randint(1, 40):02d}", now)
        )
        if rng.random() < 0.95 and address.location_key() not in points:
            buildings.append(address)
            points[address.location_key()] = {
                "location_key": address.location_key(),
                "street_key": street_key(address),
                "source": "demo",
                "source_id": str(len(points)),
                "number": address.house_number,
                "street": address.street_name,
                "unit": "",
                "city": address.city,
                "region": address.state,
                "postcode": address.zip5,
                "latitude": round(lat + rng.uniform(-0.02, 0.02), 6),
                "longitude": round(lon + rng.uniform(-0.02, 0.02), 6),
            }
    parcels = [
        parcel_values(address, point, n, rng)
        for n, (address, point) in enumerate(zip(buildings, points.values(), strict=True), start=1)
        if rng.random() < PARCEL_SHARE
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(Household), list(rows.values()))
        await conn.execute(insert(AddressPoint), list(points.values()))
        await conn.execute(insert(Parcel), parcels)
        stored = await conn.execute(select(Household.id, Household.full_address))
        await conn.execute(insert(Voter), voter_values(list(stored), rng, now))
    async with db.session_factory(engine).begin() as session:
        await ImportRepository(session).link_parcels(PARCEL_SOURCE, "demo")
    return len(rows)


def parcel_values(
    address: NormalizedAddress, point: dict[str, object], n: int, rng: random.Random
) -> dict[str, object]:
    """The building's parcel, its centroid a few metres from the building's address point."""
    address = dataclasses.replace(address, unit_type="", unit="")  # a parcel is the building
    now = utcnow()
    return {
        "source": PARCEL_SOURCE, "apn": f"DEMO-{n:05d}", "house_number": address.house_number,
        "predir": address.predir, "street_name": address.street_name, "suffix": address.suffix,
        "postdir": address.postdir, "full_address": address.one_line(), "city": address.city,
        "state": address.state, "zip_code": address.zip5, "location_key": address.location_key(),
        "centroid_latitude": round(float(point["latitude"]) + rng.uniform(-1e-4, 1e-4), 6),  # type: ignore[arg-type]
        "centroid_longitude": round(float(point["longitude"]) + rng.uniform(-1e-4, 1e-4), 6),  # type: ignore[arg-type]
        "import_job_id": "demo", "import_item": n, "created_at": now, "updated_at": now,
    }  # fmt: skip


def voter_values(
    households: list[tuple[int, str]], rng: random.Random, now: datetime
) -> list[dict[str, object]]:
    """Voters living at the households, as an import of a county file would store them."""
    voters: list[dict[str, object]] = []
    for household_id, full_address in sorted(households):
        last_name = rng.choice(LAST_NAMES)
        street, city, state_zip = full_address.rsplit(", ", 2)
        for _ in range(rng.choice(HOUSEHOLD_SIZES)):
            voters.append({
                "source": VOTER_SOURCE, "source_voter_id": f"DEMO{len(voters) + 1:06d}",
                "first_name": rng.choice(FIRST_NAMES), "last_name": last_name,
                "birth_year": rng.randint(1940, 2006), "party": rng.choice(PARTIES), "status": "ACTIVE",
                "residential_address": street, "city": city, "state": state_zip[:2], "zip_code": state_zip[3:],
                "county": "WAKE", "household_id": household_id, "created_at": now, "updated_at": now,
            })  # fmt: skip
    return voters


def household_values(
    address: NormalizedAddress, county: str, precinct: str, now: datetime
) -> dict[str, object]:
    """A households row for an address, as an import would create it."""
    return {
        "household_key": address.household_key(),
        "location_key": address.location_key(),
        "house_number": address.house_number,
        "predir": address.predir,
        "street_name": address.street_name,
        "suffix": address.suffix,
        "postdir": address.postdir,
        "unit_type": address.unit_type,
        "unit": address.unit,
        "city": address.city,
        "state": address.state,
        "zip_code": address.zip5,
        "county": county,
        "precinct": precinct,
        "full_address": address.one_line(),
        "geocoded": False,
        "created_at": now,
        "updated_at": now,
    }
