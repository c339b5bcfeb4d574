"""Offline last resort: the centroid of the query's ZIP code, from the ``zipcodes`` package."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

import zipcodes

from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult, valid_coordinates

CONFIDENCE = 0.2
_ZIP5 = re.compile(r"^(\d{5})(?:-?\d{4})?$")


@dataclass(frozen=True, slots=True)
class _Centroid:
    latitude: float
    longitude: float
    label: str  # "RALEIGH, NC 27601"


class ZipCentroidProvider:
    """ZIP-centroid geocoder (GeoNames coordinates, CC BY 4.0). No network; keep one instance, since
    lookups are cached per ZIP for its lifetime."""

    id = "zip_centroid"
    max_batch = 10_000

    def __init__(self) -> None:
        self._cache: dict[str, _Centroid | None] = {}

    async def geocode_batch(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult]:
        zips = {_zip5(q.zip_code) for q in queries} - {None} - self._cache.keys()
        if zips:
            # The package decompresses its data on first use (~0.2 s); keep that off the event loop.
            found = await asyncio.to_thread(_lookup_many, sorted(z for z in zips if z))
            self._cache.update(found)
        return [self._result(q) for q in queries]

    async def close(self) -> None:
        return None

    def _result(self, query: GeocodeQuery) -> GeocodeResult:
        zip5 = _zip5(query.zip_code)
        centroid = self._cache.get(zip5) if zip5 else None
        if centroid is None:
            return GeocodeResult.no_match(query.ref, self.id)
        return GeocodeResult(
            ref=query.ref,
            status="match",
            provider=self.id,
            latitude=centroid.latitude,
            longitude=centroid.longitude,
            precision="zip",
            confidence=CONFIDENCE,
            matched_address=centroid.label,
        )


def _zip5(raw: str) -> str | None:
    match = _ZIP5.match(raw.strip())
    return match.group(1) if match else None


def _lookup_many(zips: Sequence[str]) -> dict[str, _Centroid | None]:
    return {zip5: _lookup(zip5) for zip5 in zips}


def _lookup(zip5: str) -> _Centroid | None:
    try:
        records = zipcodes.matching(zip5)
    except (ValueError, TypeError):
        return None
    for record in records:
        try:
            latitude, longitude = float(record["lat"]), float(record["long"])
        except (KeyError, TypeError, ValueError):
            continue
        if valid_coordinates(latitude, longitude):
            label = f"{str(record.get('city', '')).upper()}, {record.get('state', '')} {zip5}"
            return _Centroid(latitude, longitude, label)
    return None
