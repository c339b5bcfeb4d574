"""The offline ``parcel`` provider: the centroid of the county parcel at the address.

Parcels come from parcel imports (``POST /api/v1/gis/parcels/import``); their area-weighted centroid
sits on the lot, which beats a street interpolation for a house and is free and unlimited. The match
is the one that links households to parcels: street address without unit, within the same ZIP; when
several parcels share an address, the newest wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.address import NormalizedAddress
from cocoa_geocoder.households import Centroid, ParcelRepository, StreetAddress
from cocoa_geocoder.local import UNPARSEABLE, normalize_query
from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult

CONFIDENCE = 0.9
NO_ZIP = "No ZIP code: parcels are matched within a ZIP"


def street_address(address: NormalizedAddress) -> StreetAddress:
    return StreetAddress(
        address.zip5,
        address.street_name,
        address.house_number,
        address.predir,
        address.suffix,
        address.postdir,
    )


class ParcelProvider:
    id = "parcel"
    max_batch = 5000

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def geocode_batch(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult]:
        addresses = [normalize_query(q) for q in queries]
        wanted = sorted({street_address(a) for a in addresses if a is not None and a.zip5})
        async with self.sessions() as session:
            centroids = await ParcelRepository(session).centroids(wanted) if wanted else {}
        return [self._result(q, a, centroids) for q, a in zip(queries, addresses, strict=True)]

    def _result(
        self, query: GeocodeQuery, address: NormalizedAddress | None, centroids: dict[StreetAddress, Centroid]
    ) -> GeocodeResult:
        if address is None:
            return GeocodeResult.failed(query.ref, self.id, UNPARSEABLE, retryable=False)
        if not address.zip5:
            return GeocodeResult.failed(query.ref, self.id, NO_ZIP, retryable=False)
        found = centroids.get(street_address(address))
        if found is None:
            return GeocodeResult.no_match(query.ref, self.id)
        return GeocodeResult(
            ref=query.ref,
            status="match",
            provider=self.id,
            latitude=found.latitude,
            longitude=found.longitude,
            precision="parcel",
            confidence=CONFIDENCE,
            matched_address=found.full_address or query.one_line(),
        )

    async def close(self) -> None:
        return None
