"""Builds the provider registry and chain from settings."""

from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.settings import Settings
from cocoa_geocoder.chain import ProviderChain
from cocoa_geocoder.local import LocalProvider
from cocoa_geocoder.parcel import ParcelProvider
from cocoa_geocoder.providers import (
    CensusProvider,
    NominatimProvider,
    Provider,
    ZipCentroidProvider,
    make_limiter,
)

OFFLINE = frozenset({"local", "parcel", "zip_centroid"})


def build_chain(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    redis: aioredis.Redis | None,
) -> ProviderChain:
    """Every provider the geocoder knows; ``GEOCODER_PROVIDERS`` picks the default order."""
    census, nominatim = settings.census, settings.nominatim
    providers: dict[str, Provider] = {
        "local": LocalProvider(sessions),
        "parcel": ParcelProvider(sessions),
        "census": CensusProvider(
            census.base_url,
            timeout=census.timeout_s,
            batch_timeout=census.batch_timeout_s,
            max_batch=census.batch_size,
            limiter=make_limiter(census.rate_per_s, 1, redis, "cocoa:ratelimit:census"),
            session=http,
        ),
        "nominatim": NominatimProvider(
            nominatim.base_url,
            user_agent=nominatim.user_agent,
            key=nominatim.api_key,
            timeout=nominatim.timeout_s,
            limiter=make_limiter(nominatim.rate_per_s, 1, redis, "cocoa:ratelimit:nominatim"),
            session=http,
        ),
        "zip_centroid": ZipCentroidProvider(),
    }
    online = frozenset(providers) - OFFLINE
    return ProviderChain(providers, settings.geocoder_providers, sessions, cached_providers=online)
