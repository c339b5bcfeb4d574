"""Plain domain operations behind the geocoder's RPCs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors
from cocoa_common.address import AddressRejected, normalize_zip, parse_street_line
from cocoa_common.models import Household
from cocoa_geocoder.address_points import ImportReport, import_address_points
from cocoa_geocoder.chain import Keyed, ProviderChain
from cocoa_geocoder.households import HouseholdFilter, HouseholdRepository
from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult
from cocoa_geocoder.registry import OFFLINE

MAX_SYNC_ADDRESSES = 1000
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class AddressInput:
    id: str
    street: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    one_line: str = ""

    def display(self) -> str:
        if self.one_line:
            return self.one_line
        return GeocodeQuery("", self.street, self.city, self.state, self.zip).one_line()


def split_one_line(text: str) -> tuple[str, str, str, str]:
    """``"123 Main St, Raleigh, NC 27601"`` -> street, city, state, zip (best effort; commas separate)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    street = parts[0] if parts else ""
    city = parts[1] if len(parts) > 2 else ""
    tail = parts[-1].split() if len(parts) > 1 else []
    zip_code = tail.pop() if tail and normalize_zip(tail[-1]) else ""
    state = " ".join(tail)
    if len(parts) == 2 and not state and not zip_code:
        city = parts[1]
    return street, city, state, zip_code


def keyed(item: AddressInput) -> Keyed:
    street, city, state, zip_code = (
        split_one_line(item.one_line) if item.one_line else (item.street, item.city, item.state, item.zip)
    )
    query = GeocodeQuery(item.id, street.strip(), city.strip(), state.strip(), zip_code.strip())
    try:
        key = parse_street_line(query.street, query.city, query.state, query.zip_code).location_key()
    except AddressRejected:
        key = "raw|" + " ".join(query.one_line().upper().split())
    return Keyed(query, key)


class GeocoderService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], chain: ProviderChain) -> None:
        self.sessions = sessions
        self.chain = chain

    async def geocode(
        self, addresses: Sequence[AddressInput], provider_id: str | None
    ) -> list[GeocodeResult]:
        """Synchronous lookups for "type an address, drop a pin": same chain, limits and cache as jobs."""
        if not addresses:
            raise errors.InvalidArgument("addresses must list at least one address", field="addresses")
        if len(addresses) > MAX_SYNC_ADDRESSES:
            raise errors.TooLarge(f"at most {MAX_SYNC_ADDRESSES} addresses per call", field="addresses")
        self.chain.chain_for(provider_id)
        items = []
        for item in addresses:
            if not (item.one_line.strip() or item.street.strip()):
                raise errors.InvalidArgument(f"address {item.id!r} has no street", field="addresses")
            items.append(keyed(item))
        return await self.chain.resolve(items, provider_id)

    async def count_households(self, flt: HouseholdFilter, *, skip_geocoded: bool) -> int:
        async with self.sessions() as session:
            return await HouseholdRepository(session).count(flt, skip_geocoded=skip_geocoded)

    async def list_households(
        self, flt: HouseholdFilter, *, limit: int, offset: int
    ) -> tuple[list[Household], int]:
        limit, offset = errors.page_bounds(limit, offset, MAX_PAGE)
        async with self.sessions() as session:
            return await HouseholdRepository(session).page(flt, limit=limit, offset=offset)

    def providers(self) -> list[tuple[str, bool, bool]]:
        """(id, in the default chain, offline) for every known provider."""
        return [(p, p in self.chain.default_chain, p in OFFLINE) for p in sorted(self.chain.providers)]

    async def import_address_points(self, chunks: AsyncIterator[bytes], source: str) -> ImportReport:
        return await import_address_points(self.sessions, chunks, source)
