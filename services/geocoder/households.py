"""The geocoder's database layer: household selection and result writes, the cache, address points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cocoa_common.address import normalize_zip
from cocoa_common.db import contains_pattern
from cocoa_common.models import PARCEL_ADDRESS_COLUMNS, AddressPoint, GeocodeCacheEntry, Household, Parcel


@dataclass(frozen=True, slots=True)
class HouseholdFilter:
    """Which households a job or a list covers. Matching is case-insensitive for city and county."""

    city: str = ""
    state: str = ""
    zip_code: str = ""
    county: str = ""
    precinct_number: str = ""
    search: str = ""
    geocoded: bool | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.city.strip():
            found.append(Household.city == " ".join(self.city.upper().split()))
        if self.state.strip():
            found.append(Household.state == self.state.strip().upper())
        if self.zip_code.strip():
            found.append(Household.zip_code == (normalize_zip(self.zip_code) or self.zip_code.strip()))
        if self.county.strip():
            found.append(func.upper(Household.county) == " ".join(self.county.upper().split()))
        if self.precinct_number.strip():
            found.append(Household.precinct == self.precinct_number.strip())
        if self.search.strip():
            pattern = contains_pattern(self.search)
            found.append(Household.full_address.like(pattern, escape="\\"))
        if self.geocoded is not None:
            found.append(Household.geocoded.is_(self.geocoded))
        return found

    @property
    def has_target(self) -> bool:
        """A geocoding job needs at least one of the five contract filters."""
        return any(
            v.strip() for v in (self.city, self.state, self.zip_code, self.county, self.precinct_number)
        )


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    street: str
    city: str
    state: str
    zip_code: str
    location_key: str
    full_address: str


@dataclass(frozen=True, slots=True)
class Located:
    household_id: int
    latitude: float
    longitude: float
    provider: str
    precision: str | None
    confidence: float | None
    matched_address: str | None


def _eligible(flt: HouseholdFilter, skip_geocoded: bool, since: datetime | None) -> ColumnElement[bool]:
    """Filter plus, with skip_geocoded, "not yet geocoded, or geocoded by this job" (``since`` = job start),
    so a replayed batch selects exactly the same households as the first time."""
    conditions = flt.conditions()
    if skip_geocoded:
        fresh = Household.geocoded.is_(False)
        conditions.append(or_(fresh, Household.geocoded_at >= since) if since is not None else fresh)
    return and_(*conditions) if conditions else and_(True)


class HouseholdRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def count(self, flt: HouseholdFilter, *, skip_geocoded: bool, since: datetime | None = None) -> int:
        stmt = select(func.count()).select_from(Household).where(_eligible(flt, skip_geocoded, since))
        return int((await self.session.execute(stmt)).scalar_one())

    async def count_after(
        self, flt: HouseholdFilter, *, skip_geocoded: bool, since: datetime | None, after_id: int
    ) -> int:
        where = and_(_eligible(flt, skip_geocoded, since), Household.id > after_id)
        return int(
            (
                await self.session.execute(select(func.count()).select_from(Household).where(where))
            ).scalar_one()
        )

    async def next_batch(
        self, flt: HouseholdFilter, *, skip_geocoded: bool, since: datetime | None, after_id: int, limit: int
    ) -> list[Target]:
        stmt = (
            select(
                Household.id,
                Household.house_number,
                Household.predir,
                Household.street_name,
                Household.suffix,
                Household.postdir,
                Household.unit_type,
                Household.unit,
                Household.city,
                Household.state,
                Household.zip_code,
                Household.location_key,
                Household.full_address,
            )
            .where(_eligible(flt, skip_geocoded, since), Household.id > after_id)
            .order_by(Household.id)
            .limit(limit)
        )
        rows = await self.session.execute(stmt)
        return [
            Target(
                id=r.id,
                street=" ".join(
                    p for p in (r.house_number, r.predir, r.street_name, r.suffix, r.postdir) if p
                ),
                city=r.city,
                state=r.state,
                zip_code=r.zip_code,
                location_key=r.location_key,
                full_address=r.full_address,
            )
            for r in rows
        ]

    async def write_located(self, located: Sequence[Located], now: datetime) -> None:
        """All successes of a batch in one statement."""
        if not located:
            return
        if self._postgres:
            await self._write_located_pg(located, now)
            return
        await self.session.execute(
            update(Household).execution_options(synchronize_session=False),
            [
                {
                    "id": x.household_id,
                    "latitude": x.latitude,
                    "longitude": x.longitude,
                    "geocoded": True,
                    "geocoded_at": now,
                    "geocoding_provider": x.provider,
                    "geocode_precision": x.precision,
                    "geocode_confidence": x.confidence,
                    "geocode_matched_address": x.matched_address,
                    "geocode_error": None,
                    "updated_at": now,
                }
                for x in located
            ],
        )

    async def _write_located_pg(self, located: Sequence[Located], now: datetime) -> None:
        # COPY into a scratch table and one UPDATE ... FROM: binding thousands of array elements as
        # query parameters costs more than the update itself.
        connection = await self.session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        async with raw.cursor() as cursor:
            await cursor.execute(
                "CREATE TEMP TABLE located (id bigint, lat float8, lon float8, provider text, precision text,"
                " confidence float8, matched text) ON COMMIT DROP"
            )
            async with cursor.copy("COPY located FROM STDIN") as copy:
                for x in located:
                    await copy.write_row(
                        (x.household_id, x.latitude, x.longitude, x.provider, x.precision, x.confidence,
                         x.matched_address)
                    )  # fmt: skip
            await cursor.execute(
                "UPDATE households AS h SET latitude = v.lat, longitude = v.lon, geocoded = true,"
                " geocoded_at = %(now)s, geocoding_provider = v.provider, geocode_precision = v.precision,"
                " geocode_confidence = v.confidence, geocode_matched_address = v.matched,"
                " geocode_error = NULL, updated_at = %(now)s FROM located AS v WHERE h.id = v.id",
                {"now": now},
            )

    async def write_failures(self, failures: Sequence[tuple[int, str]], now: datetime) -> None:
        """Record why each household could not be geocoded (coordinates it already had are kept)."""
        if not failures:
            return
        await self.session.execute(
            update(Household).execution_options(synchronize_session=False),
            [{"id": hid, "geocode_error": error[:1000], "updated_at": now} for hid, error in failures],
        )

    async def page(self, flt: HouseholdFilter, *, limit: int, offset: int) -> tuple[list[Household], int]:
        where = and_(*flt.conditions()) if flt.conditions() else and_(True)
        total = (
            await self.session.execute(select(func.count()).select_from(Household).where(where))
        ).scalar_one()
        rows = await self.session.execute(
            select(Household).where(where).order_by(Household.id).limit(limit).offset(offset)
        )
        return list(rows.scalars()), int(total)


class CacheRepository:
    """Provider answers by normalized location; shared by every replica through the database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_many(self, provider: str, keys: Sequence[str]) -> dict[str, GeocodeCacheEntry]:
        if not keys:
            return {}
        found: dict[str, GeocodeCacheEntry] = {}
        for start in range(0, len(keys), 1000):
            chunk = list(keys[start : start + 1000])
            rows = await self.session.execute(
                select(GeocodeCacheEntry).where(
                    GeocodeCacheEntry.provider == provider, GeocodeCacheEntry.location_key.in_(chunk)
                )
            )
            found.update({row.location_key: row for row in rows.scalars()})
        return found

    async def put_many(self, entries: Sequence[dict[str, object]]) -> None:
        if not entries:
            return
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(GeocodeCacheEntry).values(list(entries))
        stmt = stmt.on_conflict_do_update(
            index_elements=["location_key", "provider"],
            set_={
                c: stmt.excluded[c]
                for c in (
                    "status",
                    "latitude",
                    "longitude",
                    "precision",
                    "confidence",
                    "matched_address",
                    "created_at",
                )
            },
        )
        await self.session.execute(stmt)


POINT_COLUMNS = (
    AddressPoint.location_key,
    AddressPoint.street_key,
    AddressPoint.latitude,
    AddressPoint.longitude,
    AddressPoint.city,
    AddressPoint.region,
    AddressPoint.postcode,
)
PointRow = Row[Any]


class AddressPointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, object]]) -> None:
        if rows:
            await self.session.execute(AddressPoint.__table__.insert(), list(rows))

    async def by_location_keys(self, keys: Sequence[str]) -> dict[str, PointRow]:
        found: dict[str, PointRow] = {}
        for start in range(0, len(keys), 5000):
            chunk = list(keys[start : start + 5000])
            rows = await self.session.execute(
                select(*POINT_COLUMNS).where(AddressPoint.location_key.in_(chunk))
            )
            for row in rows:
                found.setdefault(row.location_key, row)
        return found

    async def by_street_keys(self, keys: Sequence[str]) -> dict[str, list[PointRow]]:
        found: dict[str, list[PointRow]] = {}
        for start in range(0, len(keys), 5000):
            chunk = list(keys[start : start + 5000])
            rows = await self.session.execute(
                select(*POINT_COLUMNS).where(AddressPoint.street_key.in_(chunk))
            )
            for row in rows:
                found.setdefault(row.street_key, []).append(row)
        return found

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(AddressPoint))).scalar_one())


class StreetAddress(NamedTuple):
    """A building's address as parcels are matched: ``PARCEL_ADDRESS_COLUMNS``, in that order."""

    zip_code: str
    street_name: str
    house_number: str
    predir: str
    suffix: str
    postdir: str


@dataclass(frozen=True, slots=True)
class Centroid:
    latitude: float
    longitude: float
    full_address: str


class ParcelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def centroids(self, addresses: Sequence[StreetAddress]) -> dict[StreetAddress, Centroid]:
        """The centroid of the newest parcel with one at each address (addresses without are left out)."""
        found: dict[StreetAddress, tuple[int, Centroid]] = {}
        wanted = set(addresses)
        for start in range(0, len(addresses), 500):
            chunk = addresses[start : start + 500]
            rows = await self.session.execute(
                select(
                    Parcel.id, *(getattr(Parcel, c) for c in PARCEL_ADDRESS_COLUMNS),
                    Parcel.centroid_latitude, Parcel.centroid_longitude, Parcel.full_address,
                ).where(
                    tuple_(Parcel.zip_code, Parcel.street_name, Parcel.house_number).in_(
                        [(a.zip_code, a.street_name, a.house_number) for a in chunk]
                    ),
                    Parcel.centroid_latitude.is_not(None),
                    Parcel.centroid_longitude.is_not(None),
                )
            )  # fmt: skip
            for row in rows:
                address = StreetAddress(*row[1:7])
                if address in wanted and (address not in found or found[address][0] < row[0]):
                    found[address] = (row[0], Centroid(row[7], row[8], row[9]))
        return {address: centroid for address, (_, centroid) in found.items()}
