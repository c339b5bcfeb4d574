"""The offline ``local`` provider: user-imported OpenAddresses points matched on normalized addresses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.address import AddressRejected, NormalizedAddress, parse_street_line
from cocoa_common.models import AddressPoint
from cocoa_geocoder.households import AddressPointRepository
from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult

EXACT_CONFIDENCE = 0.95
STREET_CONFIDENCE = 0.85


def street_key(address: NormalizedAddress) -> str:
    """Number and street without the place: OpenAddresses rows often leave city and ZIP empty."""
    return "|".join(
        (address.house_number, address.predir, address.street_name, address.suffix, address.postdir)
    )


def normalize_query(query: GeocodeQuery) -> NormalizedAddress | None:
    try:
        return parse_street_line(query.street, query.city, query.state, query.zip_code)
    except AddressRejected:
        return None


def _compatible(address: NormalizedAddress, point: AddressPoint) -> int:
    """-1 when a known place field disagrees, else how many place fields agree."""
    score = 0
    for mine, theirs in ((address.zip5, point.postcode), (address.state, point.region)):
        if mine and theirs:
            if mine != theirs:
                return -1
            score += 1
    if address.city and point.city:
        if address.city == point.city:
            score += 1
        elif not (address.zip5 and address.zip5 == point.postcode):
            return -1  # a different city is only fine when the ZIP vouches for the point
    return score


class LocalProvider:
    """Matches on the exact normalized location first, then on number and street within the same place."""

    id = "local"
    max_batch = 5000

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def geocode_batch(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult]:
        normalized = [normalize_query(q) for q in queries]
        known = [a for a in normalized if a is not None]
        async with self.sessions() as session:
            repo = AddressPointRepository(session)
            exact = await repo.by_location_keys(sorted({a.location_key() for a in known}))
            missing = sorted({street_key(a) for a in known if a.location_key() not in exact})
            by_street = await repo.by_street_keys(missing) if missing else {}
        return [self._answer(q, a, exact, by_street) for q, a in zip(queries, normalized, strict=True)]

    def _answer(
        self,
        query: GeocodeQuery,
        address: NormalizedAddress | None,
        exact: dict[str, AddressPoint],
        by_street: dict[str, list[AddressPoint]],
    ) -> GeocodeResult:
        if address is None:
            return GeocodeResult.failed(query.ref, self.id, "Address could not be parsed", retryable=False)
        point = exact.get(address.location_key())
        confidence = EXACT_CONFIDENCE
        if point is None:
            scored = [
                (s, p) for p in by_street.get(street_key(address), []) if (s := _compatible(address, p)) >= 0
            ]
            if not scored:
                return GeocodeResult.no_match(query.ref, self.id)
            point = max(scored, key=lambda sp: sp[0])[1]
            confidence = STREET_CONFIDENCE
        return GeocodeResult(
            ref=query.ref,
            status="match",
            provider=self.id,
            latitude=point.latitude,
            longitude=point.longitude,
            precision="rooftop",
            confidence=confidence,
            matched_address=address.one_line(),
        )

    async def close(self) -> None:
        return None
