"""Households written straight into the database, as the importer would leave them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, update

from cocoa_common import db
from cocoa_common.address import parse_street_line
from cocoa_common.ids import utcnow
from cocoa_common.models import Household, Parcel, Voter
from cocoa_jobs.demo import household_values

# (street line, city, state, zip, county, precinct)
Row = tuple[str, str, str, str, str, str]


def household_row(street: str, city: str, state: str, zip_code: str, county: str, precinct: str) -> dict:
    return household_values(
        parse_street_line(street, city, state, zip_code), county.upper(), precinct, utcnow()
    )


async def seed_households(database_url: str, rows: Sequence[Row]) -> list[int]:
    """Insert households; returns their ids in input order."""
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                insert(Household).returning(Household.id, sort_by_parameter_order=True),
                [household_row(*row) for row in rows],
            )
            return [r[0] for r in result]
    finally:
        await engine.dispose()


async def seed_voters(
    database_url: str, household_ids: Sequence[int | None], moved_to: int | None = None
) -> None:
    """One voter in each of ``household_ids`` (None: a voter without a household); with ``moved_to``,
    each then moves there, as a re-import moves a voter who changed address."""
    engine = db.create_engine(database_url)
    now = utcnow()
    try:
        async with engine.begin() as conn:
            start = (await conn.execute(select(func.count()).select_from(Voter))).scalar_one()
            rows = [
                {"source": "seed", "source_voter_id": str(start + n), "household_id": household_id,
                 "created_at": now, "updated_at": now}
                for n, household_id in enumerate(household_ids)
            ]  # fmt: skip
            inserted = await conn.execute(insert(Voter).returning(Voter.id), rows)
            if moved_to is not None:
                moved = [r[0] for r in inserted]
                await conn.execute(update(Voter).where(Voter.id.in_(moved)).values(household_id=moved_to))
    finally:
        await engine.dispose()


def openaddresses_csv(points: Sequence[tuple[float, float, str, str, str, str, str]]) -> bytes:
    """(lon, lat, number, street, city, region, postcode) rows as an OpenAddresses CSV."""
    lines = ["LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID"]
    for i, (lon, lat, number, street, city, region, postcode) in enumerate(points):
        lines.append(f"{lon},{lat},{number},{street},,{city},,{region},{postcode},{i}")
    return ("\n".join(lines) + "\n").encode()


# (apn, source, situs street line, ZIP, latitude, longitude); latitude None: no centroid
ParcelRow = tuple[str, str, str, str, float | None, float | None]


async def seed_parcels(database_url: str, rows: Sequence[ParcelRow]) -> None:
    """Insert parcels, in order (later rows get higher ids), as a parcel import would store them."""
    engine = db.create_engine(database_url)
    now = utcnow()
    values = []
    for apn, source, street, zip_code, latitude, longitude in rows:
        address = parse_street_line(street, "", "", zip_code)
        values.append(
            {
                "source": source, "apn": apn, "house_number": address.house_number, "predir": address.predir,
                "street_name": address.street_name, "suffix": address.suffix, "postdir": address.postdir,
                "full_address": address.one_line(), "zip_code": address.zip5, "location_key": address.location_key(),
                "centroid_latitude": latitude, "centroid_longitude": longitude, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    try:
        async with engine.begin() as conn:
            for row in values:
                await conn.execute(insert(Parcel), row)
    finally:
        await engine.dispose()
