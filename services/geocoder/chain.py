"""The provider chain: cache first, then each provider in order until one matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors
from cocoa_common.ids import utcnow
from cocoa_common.models import GeocodeCacheEntry
from cocoa_geocoder.households import CacheRepository
from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult, Provider

# No_Match and Tie answers are nondeterministic at the Census; ask again after a while.
NEGATIVE_TTL = timedelta(days=7)
CACHED_STATUSES = ("match", "no_match", "tie")


@dataclass(frozen=True, slots=True)
class Keyed:
    """A query and the normalized location key that identifies it in the cache."""

    query: GeocodeQuery
    key: str


@dataclass
class ChainStats:
    by_provider: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    provider_calls: int = 0


class ProviderChain:
    """Resolves queries through the configured fallback chain, never sending a cached location twice."""

    def __init__(
        self,
        providers: dict[str, Provider],
        default_chain: Sequence[str],
        sessions: async_sessionmaker[AsyncSession],
        cached_providers: frozenset[str],
    ) -> None:
        unknown = [p for p in default_chain if p not in providers]
        if unknown:
            raise ValueError(f"GEOCODER_PROVIDERS names unknown providers: {', '.join(unknown)}")
        self.providers = providers
        self.default_chain = tuple(default_chain)
        self.sessions = sessions
        self.cached_providers = cached_providers

    def chain_for(self, provider_id: str | None) -> tuple[str, ...]:
        if not provider_id or provider_id == "default":
            return self.default_chain
        if provider_id not in self.providers:
            known = ", ".join(sorted(self.providers))
            raise errors.InvalidArgument(
                f"Unknown providerId: {provider_id}. Known: {known}", field="providerId"
            )
        return (provider_id,)

    async def resolve(
        self, items: Sequence[Keyed], provider_id: str | None = None, stats: ChainStats | None = None
    ) -> list[GeocodeResult]:
        """One result per item, in order: the first match, or the last failure with every provider's reason."""
        stats = stats if stats is not None else ChainStats()
        final: dict[str, GeocodeResult] = {}  # by key
        reasons: dict[str, list[str]] = {}
        remaining = list(dict.fromkeys(item.key for item in items))
        representative = {item.key: item.query for item in reversed(items)}
        for provider_id_ in self.chain_for(provider_id):
            if not remaining:
                break
            answers = await self._ask(provider_id_, [representative[k] for k in remaining], remaining, stats)
            still: list[str] = []
            for key, result in zip(remaining, answers, strict=True):
                if result.status == "match":
                    final[key] = result
                    stats.by_provider[result.provider] = stats.by_provider.get(result.provider, 0) + 1
                else:
                    reasons.setdefault(key, []).append(f"{provider_id_}: {result.error or result.status}")
                    final[key] = result
                    still.append(key)
            remaining = still
        results = []
        for item in items:
            result = final[item.key]
            if result.status != "match":
                result = replace(result, error="; ".join(reasons.get(item.key, [])) or result.error)
            results.append(result if result.ref == item.query.ref else replace(result, ref=item.query.ref))
        return results

    async def _ask(
        self, provider_id: str, queries: list[GeocodeQuery], keys: list[str], stats: ChainStats
    ) -> list[GeocodeResult]:
        provider = self.providers[provider_id]
        cached = provider_id in self.cached_providers
        hits = await self._cached(provider_id, keys) if cached else {}
        stats.cache_hits += len(hits)
        ask = [i for i, key in enumerate(keys) if key not in hits]
        fresh: dict[int, GeocodeResult] = {}
        for start in range(0, len(ask), provider.max_batch):
            chunk = ask[start : start + provider.max_batch]
            stats.provider_calls += 1
            answers = await provider.geocode_batch([queries[i] for i in chunk])
            fresh.update(zip(chunk, answers, strict=True))
        if cached and fresh:
            await self._remember(provider_id, [(keys[i], r) for i, r in fresh.items()])
        return [hits[key] if key in hits else fresh[i] for i, key in enumerate(keys)]

    async def _cached(self, provider_id: str, keys: list[str]) -> dict[str, GeocodeResult]:
        async with self.sessions() as session:
            rows = await CacheRepository(session).get_many(provider_id, keys)
        oldest_negative = utcnow() - NEGATIVE_TTL
        return {
            key: _from_cache(row)
            for key, row in rows.items()
            if row.status == "match" or row.created_at >= oldest_negative
        }

    async def _remember(self, provider_id: str, answers: list[tuple[str, GeocodeResult]]) -> None:
        now = utcnow()
        entries: dict[str, dict[str, object]] = {}
        for key, r in answers:
            if r.status in CACHED_STATUSES:
                entries[key] = {
                    "location_key": key,
                    "provider": provider_id,
                    "status": r.status,
                    "latitude": r.latitude,
                    "longitude": r.longitude,
                    "precision": r.precision,
                    "confidence": r.confidence,
                    "matched_address": (r.matched_address or "")[:300] or None,
                    "created_at": now,
                }
        async with self.sessions.begin() as session:
            await CacheRepository(session).put_many(list(entries.values()))

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()


def _from_cache(row: GeocodeCacheEntry) -> GeocodeResult:
    if row.status == "match":
        return GeocodeResult(
            ref="",
            status="match",
            provider=row.provider,
            latitude=row.latitude,
            longitude=row.longitude,
            precision=row.precision,  # type: ignore[arg-type]
            confidence=row.confidence,
            matched_address=row.matched_address,
        )
    if row.status == "tie":
        return GeocodeResult.tie("", row.provider)
    return GeocodeResult.no_match("", row.provider)
