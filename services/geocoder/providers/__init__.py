"""Geocoding provider clients behind one batch interface (see ``base.Provider``)."""

from cocoa_geocoder.providers.base import (
    GeocodeQuery,
    GeocodeResult,
    Precision,
    Provider,
    ProviderError,
    Status,
)
from cocoa_geocoder.providers.census import CensusProvider
from cocoa_geocoder.providers.nominatim import NominatimProvider
from cocoa_geocoder.providers.ratelimit import LocalTokenBucket, RateLimiter, RedisTokenBucket, make_limiter
from cocoa_geocoder.providers.zip_centroid import ZipCentroidProvider

__all__ = [
    "CensusProvider",
    "GeocodeQuery",
    "GeocodeResult",
    "LocalTokenBucket",
    "NominatimProvider",
    "Precision",
    "Provider",
    "ProviderError",
    "RateLimiter",
    "RedisTokenBucket",
    "Status",
    "ZipCentroidProvider",
    "make_limiter",
]
