"""The offline ``local`` provider: user-imported OpenAddresses points matched on normalized addresses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.address import AddressRejected, NormalizedAddress, parse_street_line
from cocoa_geocoder.households import AddressPointRepository, PointRow
from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult

UNPARSEABLE = "Address could not be parsed"
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


def _key_of(address: NormalizedAddress | None) -> str:
    return address.location_key() if address is not None else ""


def _compatible(address: NormalizedAddress, point: PointRow) -> int:
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
        # Households arrive with their location key; only the misses are parsed, for the street match.
        keys = [q.location_key or _key_of(normalize_query(q)) for q in queries]
        async with self.sessions() as session:
            repo = AddressPointRepository(session)
            exact = await repo.by_location_keys(sorted({k for k in keys if k}))
            misses = {
                i: normalize_query(q)
                for i, (q, k) in enumerate(zip(queries, keys, strict=True))
                if k not in exact
            }
            wanted = sorted({street_key(a) for a in misses.values() if a is not None})
            by_street = await repo.by_street_keys(wanted) if wanted else {}
        results = []
        for i, (query, key) in enumerate(zip(queries, keys, strict=True)):
            point = exact.get(key)
            if point is not None:
                results.append(self._match(query, point, EXACT_CONFIDENCE))
            else:
                results.append(self._street_match(query, misses[i], by_street))
        return results

    def _street_match(
        self, query: GeocodeQuery, address: NormalizedAddress | None, by_street: dict[str, list[PointRow]]
    ) -> GeocodeResult:
        if address is None:
            return GeocodeResult.failed(query.ref, self.id, UNPARSEABLE, retryable=False)
        scored = [
            (s, p) for p in by_street.get(street_key(address), []) if (s := _compatible(address, p)) >= 0
        ]
        if not scored:
            return GeocodeResult.no_match(query.ref, self.id)
        return self._match(query, max(scored, key=lambda sp: sp[0])[1], STREET_CONFIDENCE)

    def _match(self, query: GeocodeQuery, point: PointRow, confidence: float) -> GeocodeResult:
        return GeocodeResult(
            ref=query.ref,
            status="match",
            provider=self.id,
            latitude=point.latitude,
            longitude=point.longitude,
            precision="rooftop",
            confidence=confidence,
            matched_address=query.one_line(),
        )

    async def close(self) -> None:
        return None
