"""US Census Bureau geocoder: batch CSV upload for many rows, one-line JSON lookup for a single row."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from cocoa_common import jsontext
from cocoa_geocoder.providers.base import (
    GeocodeQuery,
    GeocodeResult,
    HttpClient,
    HttpFailure,
    ProviderError,
    failed_all,
    valid_coordinates,
)
from cocoa_geocoder.providers.ratelimit import RateLimiter

PUBLIC_BASE_URL = "https://geocoding.geo.census.gov"
CENSUS_MAX_ROWS = 10_000  # documented per-file limit
# Census has no score; these encode "interpolated on a street range", loosely by match quality.
CONFIDENCE = {"Exact": 0.9, "Non_Exact": 0.7}
CONFIDENCE_UNKNOWN_TYPE = 0.6
CONFIDENCE_ONE_LINE = 0.8
CONFIDENCE_ONE_LINE_AMBIGUOUS = 0.5


class CensusProvider:
    """Client for geocoding.geo.census.gov (or a compatible fake).

    Batches of more than one query go to ``/geocoder/locations/addressbatch``; a failed batch (5xx,
    timeout, dropped connection) is split in half and retried, up to ``max_splits`` levels deep.
    """

    id = "census"

    def __init__(
        self,
        base_url: str = PUBLIC_BASE_URL,
        *,
        benchmark: str = "Public_AR_Current",
        timeout: float = 5.0,
        batch_timeout: float = 300.0,
        max_batch: int = 1000,
        max_splits: int = 3,
        retry_after_cap: float = 30.0,
        limiter: RateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not 1 <= max_batch <= CENSUS_MAX_ROWS:
            raise ProviderError(f"census max_batch must be 1..{CENSUS_MAX_ROWS}, got {max_batch}")
        if timeout <= 0 or batch_timeout <= 0:
            raise ProviderError("census timeouts must be positive")
        if max_splits < 0:
            raise ProviderError("census max_splits must be >= 0")
        if not benchmark:
            raise ProviderError("census benchmark must be non-empty")
        self.base_url = base_url.rstrip("/")
        self.benchmark = benchmark
        self.timeout = timeout
        self.batch_timeout = batch_timeout
        self.max_batch = max_batch
        self.max_splits = max_splits
        self._http = HttpClient(self.id, session=session, limiter=limiter, retry_after_cap=retry_after_cap)

    async def geocode_batch(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult]:
        results: list[GeocodeResult] = []
        for start in range(0, len(queries), self.max_batch):
            results.extend(await self._geocode_chunk(queries[start : start + self.max_batch], depth=0))
        return results

    async def close(self) -> None:
        await self._http.close()

    async def _geocode_chunk(self, chunk: Sequence[GeocodeQuery], depth: int) -> list[GeocodeResult]:
        if len(chunk) == 1:
            return [await self._geocode_one(chunk[0])]
        outcome = await self._post_batch(chunk)
        if not isinstance(outcome, HttpFailure):
            return outcome
        if outcome.splittable and depth < self.max_splits:
            # Large Census batches fail intermittently; smaller halves usually go through.
            middle = len(chunk) // 2
            first = await self._geocode_chunk(chunk[:middle], depth + 1)
            return first + await self._geocode_chunk(chunk[middle:], depth + 1)
        return failed_all(chunk, self.id, outcome.message, retryable=outcome.retryable)

    # --- batch endpoint ------------------------------------------------------------------------

    async def _post_batch(self, chunk: Sequence[GeocodeQuery]) -> list[GeocodeResult] | HttpFailure:
        reply = await self._http.request(
            "POST",
            f"{self.base_url}/geocoder/locations/addressbatch",
            timeout=self.batch_timeout,
            data=self._form_factory(chunk),
        )
        if isinstance(reply, HttpFailure):
            return reply
        return parse_batch_response(reply.text(), chunk, self.id)

    def _form_factory(self, chunk: Sequence[GeocodeQuery]) -> Callable[[], aiohttp.FormData]:
        payload = build_batch_csv(chunk)

        def make() -> aiohttp.FormData:
            form = aiohttp.FormData()
            form.add_field("benchmark", self.benchmark)
            form.add_field("addressFile", payload, filename="addresses.csv", content_type="text/csv")
            return form

        return make

    # --- one-line endpoint ---------------------------------------------------------------------

    async def _geocode_one(self, query: GeocodeQuery) -> GeocodeResult:
        reply = await self._http.request(
            "GET",
            f"{self.base_url}/geocoder/locations/onelineaddress",
            timeout=self.timeout,
            params={"address": query.one_line(), "benchmark": self.benchmark, "format": "json"},
        )
        if isinstance(reply, HttpFailure):
            return GeocodeResult.failed(query.ref, self.id, reply.message, retryable=reply.retryable)
        return parse_one_line_response(reply.text(), query, self.id)


def _clean(field: str) -> str:
    # One address per line: embedded newlines would confuse the Census CSV reader.
    return " ".join(field.split())


def build_batch_csv(chunk: Sequence[GeocodeQuery]) -> bytes:
    """No header, exactly five fields per row; ids are row positions so caller refs need no escaping."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    for index, q in enumerate(chunk):
        writer.writerow([str(index), _clean(q.street), _clean(q.city), _clean(q.state), _clean(q.zip_code)])
    return buffer.getvalue().encode("utf-8")


def parse_batch_response(text: str, chunk: Sequence[GeocodeQuery], provider: str) -> list[GeocodeResult]:
    """Join the ragged, unordered response rows back onto ``chunk`` by record id."""
    by_index: dict[int, GeocodeResult] = {}
    try:
        for row in csv.reader(io.StringIO(text)):
            index = _row_index(row, len(chunk))
            if index is not None:  # header rows and junk have no usable id
                by_index[index] = _parse_batch_row(row, chunk[index].ref, provider)
    except csv.Error as exc:
        return failed_all(chunk, provider, f"Malformed response from {provider}: {exc}", retryable=True)
    if not by_index:
        return failed_all(
            chunk, provider, f"Malformed response from {provider}: no result rows", retryable=True
        )
    missing = f"Missing from {provider} response"
    return [
        by_index.get(i) or GeocodeResult.failed(q.ref, provider, missing, retryable=True)
        for i, q in enumerate(chunk)
    ]


def _row_index(row: list[str], size: int) -> int | None:
    if not row:
        return None
    try:
        index = int(row[0].strip())
    except ValueError:
        return None
    return index if 0 <= index < size else None


def _parse_batch_row(row: list[str], ref: str, provider: str) -> GeocodeResult:
    indicator = row[2].strip() if len(row) > 2 else ""
    if indicator == "No_Match":
        return GeocodeResult.no_match(ref, provider)
    if indicator == "Tie":
        return GeocodeResult.tie(ref, provider)
    coords = _parse_lon_lat(row[5]) if indicator == "Match" and len(row) >= 6 else None
    if coords is None:
        return GeocodeResult.failed(ref, provider, f"Malformed result row from {provider}", retryable=True)
    longitude, latitude = coords
    match_type = row[3].strip()
    return GeocodeResult(
        ref=ref,
        status="match",
        provider=provider,
        latitude=latitude,
        longitude=longitude,
        precision="range",
        confidence=CONFIDENCE.get(match_type, CONFIDENCE_UNKNOWN_TYPE),
        matched_address=row[4].strip() or None,
    )


def _parse_lon_lat(field: str) -> tuple[float, float] | None:
    """The coordinate column is ONE field, longitude first: ``"-73.98658,40.738323"``."""
    parts = field.split(",")
    if len(parts) != 2:
        return None
    try:
        longitude, latitude = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (longitude, latitude) if valid_coordinates(latitude, longitude) else None


def parse_one_line_response(text: str, query: GeocodeQuery, provider: str) -> GeocodeResult:
    malformed = GeocodeResult.failed(
        query.ref, provider, f"Malformed response from {provider}", retryable=True
    )
    try:
        payload: Any = jsontext.loads(text)
        matches = payload["result"]["addressMatches"]
    except (ValueError, KeyError, TypeError):
        return malformed
    if not isinstance(matches, list):
        return malformed
    if not matches:
        return GeocodeResult.no_match(query.ref, provider)
    try:
        first = matches[0]
        longitude = float(first["coordinates"]["x"])
        latitude = float(first["coordinates"]["y"])
    except (KeyError, TypeError, ValueError):
        return malformed
    if not valid_coordinates(latitude, longitude):
        return malformed
    # Several matches is the one-line form of a Tie: keep the first, but trust it less.
    confidence = CONFIDENCE_ONE_LINE if len(matches) == 1 else CONFIDENCE_ONE_LINE_AMBIGUOUS
    matched = first.get("matchedAddress")
    return GeocodeResult(
        ref=query.ref,
        status="match",
        provider=provider,
        latitude=latitude,
        longitude=longitude,
        precision="range",
        confidence=confidence,
        matched_address=matched if isinstance(matched, str) and matched else None,
    )
