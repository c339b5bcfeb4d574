"""``make run``'s demo data: households, address points and parcels linked like an import links them."""

from __future__ import annotations

from sqlalchemy import func, select

from cocoa_common import db
from cocoa_common.models import Household, Parcel
from cocoa_jobs.demo import seed_demo


async def test_demo_parcels_are_linked_to_the_households_at_their_address(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        assert await seed_demo(engine, households=400) == 400
        async with engine.connect() as conn:
            parcels = (await conn.execute(select(func.count()).select_from(Parcel))).scalar_one()
            with_units = (
                await conn.execute(
                    select(func.count()).select_from(Parcel).where(Parcel.full_address.like("%APT%"))
                )
            ).scalar_one()
            pairs = (
                await conn.execute(
                    select(Household.location_key, Parcel.location_key).join(
                        Parcel, Parcel.id == Household.parcel_id
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert (parcels > 50, with_units) == (True, 0)  # a parcel is a building, without a unit
    assert len(pairs) >= parcels  # every demo parcel has at least its own building's household
    assert all(household == parcel for household, parcel in pairs)
