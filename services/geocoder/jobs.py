"""The ``geocoding`` job: households selected by filters, geocoded in batches, each batch checkpointed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors
from cocoa_common.ids import utcnow
from cocoa_common.worker import ItemError, JobContext, JobFailed
from cocoa_geocoder.chain import ChainStats, Keyed, ProviderChain
from cocoa_geocoder.households import HouseholdFilter, HouseholdRepository, Located, Target
from cocoa_geocoder.providers.base import GeocodeQuery, GeocodeResult

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
FILTER_KEYS = ("city", "state", "zipCode", "county", "precinctNumber")


@dataclass(frozen=True, slots=True)
class GeocodeJobParams:
    filter: HouseholdFilter
    limit: int
    skip_geocoded: bool
    provider_id: str | None
    dynamic: bool

    @classmethod
    def parse(cls, data: dict[str, Any], *, dynamic: bool = False) -> GeocodeJobParams:
        """Validate a job's input; raises ``InvalidArgument`` naming the bad parameter."""
        filters = data.get("filters", {})
        if not isinstance(filters, dict):
            raise errors.InvalidArgument("filters must be an object", field="filters")
        values = {k: filters.get(k) for k in FILTER_KEYS}
        for key, value in values.items():
            if value is not None and not isinstance(value, str | int):
                raise errors.InvalidArgument(f"{key} must be a string", field=key)
        flt = HouseholdFilter(
            city=str(values["city"] or ""),
            state=str(values["state"] or ""),
            zip_code=str(values["zipCode"] or ""),
            county=str(values["county"] or ""),
            precinct_number=str(values["precinctNumber"] or ""),
        )
        if not flt.has_target:
            raise errors.InvalidArgument(
                "At least one filter must be provided (city, state, zipCode, county, precinctNumber)",
                field="filters",
            )
        limit = data.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise errors.InvalidArgument(f"limit must be an integer between 1 and {MAX_LIMIT}", field="limit")
        skip = data.get("skipGeocoded", True)
        if not isinstance(skip, bool):
            raise errors.InvalidArgument("skipGeocoded must be true or false", field="skipGeocoded")
        provider = data.get("providerId")
        if provider is not None and not isinstance(provider, str):
            raise errors.InvalidArgument("providerId must be a string", field="providerId")
        mode_dynamic = dynamic or data.get("mode") == "dynamic"
        return cls(flt, limit, skip, provider or None, mode_dynamic)


def query_for(target: Target) -> Keyed:
    query = GeocodeQuery(
        str(target.id), target.street, target.city, target.state, target.zip_code, target.location_key
    )
    return Keyed(query, target.location_key or query.one_line())


class GeocodingJob:
    """Runs one geocoding job on behalf of the worker runtime."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], chain: ProviderChain, batch_size: int
    ) -> None:
        self.sessions = sessions
        self.chain = chain
        self.batch_size = batch_size

    async def __call__(self, ctx: JobContext) -> None:
        try:
            params = GeocodeJobParams.parse(ctx.data)
            self.chain.chain_for(params.provider_id)
        except errors.CocoaError as exc:
            raise JobFailed(exc.message) from None
        checkpoint = ctx.checkpoint or {}
        after_id = int(checkpoint.get("afterId", 0))
        processed, failed = ctx.processed, ctx.failed
        stats = _Stats.load(ctx.stats)
        since = ctx.started_at
        total = checkpoint.get("total")
        if total is None or params.dynamic:
            total = await self._total(params, since, after_id, processed + failed)
        upcoming = self._prefetch(params, since, after_id, total - processed - failed)
        try:
            while upcoming is not None:
                batch = await upcoming
                if not batch:
                    total = processed + failed  # households vanished since the count; finish honestly
                    break
                after_id = batch[-1].id
                # Read the next batch while this one is geocoded and written: the database and
                # Python then work side by side.
                left = total - processed - failed - len(batch)
                upcoming = self._prefetch(params, since, after_id, left) if not params.dynamic else None
                results = await self.chain.resolve(
                    [query_for(t) for t in batch], params.provider_id, stats.chain
                )
                item_errors = await self._write(batch, results)
                failed += len(item_errors)
                processed += len(batch) - len(item_errors)
                if params.dynamic:
                    total = await self._total(params, since, after_id, processed + failed)
                    upcoming = self._prefetch(params, since, after_id, total - processed - failed)
                await ctx.report(
                    processed=processed,
                    failed=failed,
                    total=total,
                    errors=item_errors,
                    stats=stats.as_output(processed, failed),
                    checkpoint={
                        "afterId": after_id,
                        "total": total,
                        "processed": processed,
                        "failed": failed,
                        "stats": stats.as_output(processed, failed),
                    },
                )
        finally:
            if upcoming is not None:
                upcoming.cancel()
        ctx.total_items = total
        ctx.stats = stats.as_output(processed, failed)

    def _prefetch(
        self, params: GeocodeJobParams, since: Any, after_id: int, left: int
    ) -> asyncio.Task[list[Target]] | None:
        if left <= 0:
            return None
        return asyncio.create_task(self._next_batch(params, since, after_id, min(self.batch_size, left)))

    async def _total(self, params: GeocodeJobParams, since: Any, after_id: int, done: int) -> int:
        async with self.sessions() as session:
            remaining = await HouseholdRepository(session).count_after(
                params.filter, skip_geocoded=params.skip_geocoded, since=since, after_id=after_id
            )
        return min(params.limit, done + remaining)

    async def _next_batch(
        self, params: GeocodeJobParams, since: Any, after_id: int, limit: int
    ) -> list[Target]:
        async with self.sessions() as session:
            return await HouseholdRepository(session).next_batch(
                params.filter, skip_geocoded=params.skip_geocoded, since=since, after_id=after_id, limit=limit
            )

    async def _write(self, batch: list[Target], results: list[GeocodeResult]) -> list[ItemError]:
        now = utcnow()
        located: list[Located] = []
        failures: list[tuple[int, str]] = []
        item_errors: list[ItemError] = []
        for target, result in zip(batch, results, strict=True):
            if result.status == "match" and result.latitude is not None and result.longitude is not None:
                located.append(
                    Located(
                        target.id,
                        result.latitude,
                        result.longitude,
                        result.provider,
                        result.precision,
                        result.confidence,
                        result.matched_address,
                    )
                )
                continue
            reason = result.error or result.status
            failures.append((target.id, reason))
            item_errors.append(
                ItemError(
                    item_ref=str(target.id),
                    code=result.status if result.status != "match" else "no_coordinates",
                    message=reason,
                    detail={"householdId": str(target.id), "address": target.full_address},
                )
            )
        async with self.sessions.begin() as session:
            repo = HouseholdRepository(session)
            await repo.write_located(located, now)
            await repo.write_failures(failures, now)
        return item_errors


@dataclass
class _Stats:
    chain: ChainStats

    @classmethod
    def load(cls, saved: dict[str, Any]) -> _Stats:
        stats = ChainStats()
        stats.by_provider = dict(saved.get("byProvider", {}))
        stats.cache_hits = int(saved.get("cacheHits", 0))
        stats.provider_calls = int(saved.get("providerCalls", 0))
        return cls(stats)

    def as_output(self, processed: int, failed: int) -> dict[str, Any]:
        return {
            "householdsGeocoded": processed,
            "householdsFailed": failed,
            "byProvider": dict(self.chain.by_provider),
            "cacheHits": self.chain.cache_hits,
            "providerCalls": self.chain.provider_calls,
        }
