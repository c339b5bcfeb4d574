"""Nominatim structured search (public OSM instance, a self-hosted one, or LocationIQ)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from cocoa_common import jsontext
from cocoa_geocoder.providers.base import (
    GeocodeQuery,
    GeocodeResult,
    HttpClient,
    HttpFailure,
    Precision,
    ProviderError,
    failed_all,
    valid_coordinates,
)
from cocoa_geocoder.providers.ratelimit import LocalTokenBucket, RateLimiter

PUBLIC_BASE_URL = "https://nominatim.openstreetmap.org"
PUBLIC_HOST = "nominatim.openstreetmap.org"

# Nominatim has no match score; base confidence on how specific the returned object is.
CONFIDENCE = {"rooftop": 0.9, "street": 0.5, "zip": 0.3, "city": 0.2}
# A result in a different ZIP than asked for is often the same street name in the wrong town.
ZIP_MISMATCH_FACTOR = 0.6
ROAD_ADDRESSTYPES = {"road"}
ZIP_ADDRESSTYPES = {"postcode"}

# Secondary-unit designators (USPS Pub 28 C2) at the end of the street line. OSM has no units,
# and leaving "APT 2" in the structured street often turns a house hit into a miss.
_UNIT_SUFFIX = re.compile(
    r"\s+(?:APT|APARTMENT|UNIT|STE|SUITE|RM|ROOM|FL|FLOOR|BLDG|LOT|SPC|TRLR|DEPT|#)\.?\s*#?\s*[\w-]+$",
    re.IGNORECASE,
)


class NominatimProvider:
    """Client for Nominatim-compatible ``/search`` (jsonv2). Queries go one by one through the limiter.

    Without an explicit limiter the public OSM host is held to its 1 request/s policy; self-hosted
    instances are unlimited unless a limiter is given."""

    max_batch = 1

    def __init__(
        self,
        base_url: str = PUBLIC_BASE_URL,
        *,
        user_agent: str,
        email: str = "",
        key: str = "",
        timeout: float = 5.0,
        retry_after_cap: float = 30.0,
        limiter: RateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
        provider_id: str = "nominatim",
    ) -> None:
        if not user_agent or not user_agent.strip():
            raise ProviderError("nominatim needs a non-empty user_agent identifying this application")
        if timeout <= 0:
            raise ProviderError("nominatim timeout must be positive")
        if limiter is None and urlsplit(base_url).hostname == PUBLIC_HOST:
            limiter = LocalTokenBucket(rate_per_s=1.0, burst=1)
        self.id = provider_id
        self.limiter = limiter
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.key = key
        self.timeout = timeout
        self._http = HttpClient(
            provider_id,
            session=session,
            limiter=limiter,
            retry_after_cap=retry_after_cap,
            headers={"User-Agent": user_agent.strip()},
        )

    async def geocode_batch(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult]:
        results: list[GeocodeResult] = []
        for position, query in enumerate(queries):
            result, throttled = await self._geocode_one(query)
            results.append(result)
            if throttled and result.error:
                # Still throttled after honouring Retry-After: stop hammering, let the caller retry later.
                rest = queries[position + 1 :]
                results.extend(failed_all(rest, self.id, result.error, retryable=True))
                break
        return results

    async def close(self) -> None:
        await self._http.close()

    def search_params(self, query: GeocodeQuery) -> dict[str, str]:
        """Structured-search parameters; empty fields are left out rather than sent blank."""
        params = {
            "street": _UNIT_SUFFIX.sub("", " ".join(query.street.split())),
            "city": query.city.strip(),
            "state": query.state.strip(),
            "postalcode": query.zip_code.strip(),
        }
        params = {name: value for name, value in params.items() if value}
        params.update(country="us", format="jsonv2", addressdetails="1", limit="1")
        if self.email:
            params["email"] = self.email
        if self.key:
            params["key"] = self.key  # LocationIQ and other hosted Nominatim-compatibles
        return params

    async def _geocode_one(self, query: GeocodeQuery) -> tuple[GeocodeResult, bool]:
        """The result, and whether the host is still rate limiting us."""
        if not (query.street.strip() or query.city.strip() or query.zip_code.strip()):
            return GeocodeResult.no_match(query.ref, self.id), False
        reply = await self._http.request(
            "GET", f"{self.base_url}/search", timeout=self.timeout, params=self.search_params(query)
        )
        if isinstance(reply, HttpFailure):
            failed = GeocodeResult.failed(query.ref, self.id, reply.message, retryable=reply.retryable)
            return failed, reply.retry_after is not None
        return parse_search_response(reply.text(), query, self.id), False


def parse_search_response(text: str, query: GeocodeQuery, provider: str) -> GeocodeResult:
    malformed = GeocodeResult.failed(
        query.ref, provider, f"Malformed response from {provider}", retryable=True
    )
    try:
        places: Any = jsontext.loads(text)
    except ValueError:
        return malformed
    if not isinstance(places, list):
        return malformed
    if not places:
        return GeocodeResult.no_match(query.ref, provider)
    place = places[0]
    try:
        latitude, longitude = float(place["lat"]), float(place["lon"])  # strings on the wire
    except (KeyError, TypeError, ValueError):
        return malformed
    if not valid_coordinates(latitude, longitude):
        return malformed
    address = place.get("address") if isinstance(place.get("address"), dict) else {}
    precision = classify_precision(place, address)
    name = place.get("display_name")
    return GeocodeResult(
        ref=query.ref,
        status="match",
        provider=provider,
        latitude=latitude,
        longitude=longitude,
        precision=precision,
        confidence=_confidence(precision, address, query),
        matched_address=name if isinstance(name, str) and name else None,
    )


def classify_precision(place: Mapping[str, Any], address: Mapping[str, Any]) -> Precision:
    kind = {str(place.get("type", "")), str(place.get("addresstype", ""))}
    if address.get("house_number") or "house" in kind:
        return "rooftop"
    rank = place.get("place_rank")
    category = place.get("category", place.get("class"))
    if category == "highway" or kind & ROAD_ADDRESSTYPES or (isinstance(rank, int) and 26 <= rank <= 27):
        return "street"
    if kind & ZIP_ADDRESSTYPES:
        return "zip"
    return "city"


def _confidence(precision: Precision, address: Mapping[str, Any], query: GeocodeQuery) -> float:
    confidence = CONFIDENCE.get(precision, 0.2)
    wanted = query.zip_code.strip()[:5]
    found = str(address.get("postcode", "")).strip()[:5]
    if wanted and found and wanted != found:
        confidence *= ZIP_MISMATCH_FACTOR
    return round(confidence, 3)
