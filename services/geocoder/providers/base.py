"""Provider interface shared by every geocoder backend, plus the HTTP plumbing the online ones use."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp

from cocoa_geocoder.providers.ratelimit import RateLimiter

Precision = Literal["rooftop", "parcel", "range", "street", "zip", "city"]
Status = Literal["match", "no_match", "tie", "error"]

NO_MATCH = "No match"
TIE = "Ambiguous (Tie)"


class ProviderError(Exception):
    """Raised only for configuration mistakes; lookup failures are returned as ``status="error"`` results."""


@dataclass(frozen=True, slots=True)
class GeocodeQuery:
    """One address to geocode; ``ref`` is the caller's id and is echoed back on the result."""

    ref: str
    street: str
    city: str
    state: str
    zip_code: str
    location_key: str = ""  # the normalized location when the caller already knows it (households do)

    def one_line(self) -> str:
        """``"1234 N MAIN ST APT 2, RALEIGH, NC 27601"``, skipping empty parts."""
        state_zip = " ".join(part for part in (self.state.strip(), self.zip_code.strip()) if part)
        return ", ".join(part for part in (self.street.strip(), self.city.strip(), state_zip) if part)


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """Outcome for one query. ``retryable`` marks errors that may succeed later or at another provider."""

    ref: str
    status: Status
    provider: str
    latitude: float | None = None
    longitude: float | None = None
    precision: Precision | None = None
    confidence: float | None = None
    matched_address: str | None = None
    error: str | None = None
    retryable: bool = False

    @classmethod
    def no_match(cls, ref: str, provider: str) -> GeocodeResult:
        return cls(ref=ref, status="no_match", provider=provider, error=NO_MATCH)

    @classmethod
    def tie(cls, ref: str, provider: str) -> GeocodeResult:
        return cls(ref=ref, status="tie", provider=provider, error=TIE)

    @classmethod
    def failed(cls, ref: str, provider: str, error: str, *, retryable: bool) -> GeocodeResult:
        return cls(ref=ref, status="error", provider=provider, error=error, retryable=retryable)


class Provider(Protocol):
    """A geocoding backend. ``geocode_batch`` returns one result per query, in input order, and never
    raises for per-address or HTTP failures."""

    id: str
    max_batch: int

    async def geocode_batch(self, queries: Sequence[GeocodeQuery]) -> list[GeocodeResult]: ...

    async def close(self) -> None: ...


def failed_all(
    queries: Sequence[GeocodeQuery], provider: str, error: str, *, retryable: bool
) -> list[GeocodeResult]:
    return [GeocodeResult.failed(q.ref, provider, error, retryable=retryable) for q in queries]


def valid_coordinates(latitude: float, longitude: float) -> bool:
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


# --- HTTP plumbing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A 2xx response, fully read."""

    status: int
    body: bytes
    content_type: str

    def text(self) -> str:
        # Census has historically served Latin-1 in places; never fail on decoding.
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return self.body.decode("latin-1")


@dataclass(frozen=True, slots=True)
class HttpFailure:
    """Why a request produced no usable response."""

    message: str
    retryable: bool
    # Worth retrying the same work in smaller pieces (server overload, timeouts, dropped connections).
    splittable: bool = False
    # Seconds the server asked us to wait (429 only).
    retry_after: float | None = None


def parse_retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """Owns (or borrows) an aiohttp session, applies the rate limiter to every attempt, honours one
    bounded Retry-After on 429, and turns transport failures into ``HttpFailure`` values."""

    def __init__(
        self,
        provider_id: str,
        *,
        session: aiohttp.ClientSession | None,
        limiter: RateLimiter | None,
        retry_after_cap: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._provider_id = provider_id
        self._session = session
        self._owns_session = session is None
        self._limiter = limiter
        self._retry_after_cap = retry_after_cap
        self._headers = dict(headers or {})

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily so the session binds to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        params: Mapping[str, str] | None = None,
        data: Any = None,
    ) -> HttpReply | HttpFailure:
        outcome = await self._attempt(method, url, timeout=timeout, params=params, data=data)
        if isinstance(outcome, HttpFailure) and outcome.retry_after is not None:
            await asyncio.sleep(min(outcome.retry_after, self._retry_after_cap))
            outcome = await self._attempt(method, url, timeout=timeout, params=params, data=data)
        return outcome

    async def _attempt(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        params: Mapping[str, str] | None,
        data: Any,
    ) -> HttpReply | HttpFailure:
        if self._limiter is not None:
            await self._limiter.acquire()
        if callable(data):
            data = data()  # multipart bodies cannot be sent twice, so callers pass a factory
        name = self._provider_id
        try:
            async with self._get_session().request(
                method,
                url,
                params=params,
                data=data,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                body = await resp.read()
                status, content_type = resp.status, resp.content_type
                retry_after = resp.headers.get("Retry-After")
        except TimeoutError:
            return HttpFailure(f"Timed out after {timeout}s", retryable=True, splittable=True)
        except aiohttp.ClientError as exc:
            return HttpFailure(
                f"Connection error from {name}: {type(exc).__name__}", retryable=True, splittable=True
            )
        if status == 429:
            return HttpFailure(
                f"Rate limited by {name} (HTTP 429)",
                retryable=True,
                retry_after=parse_retry_after(retry_after),
            )
        if status >= 500 or status == 408:
            return HttpFailure(f"HTTP {status} from {name}", retryable=True, splittable=True)
        if status >= 300:
            # Other 4xx (bad request, bad key, blocked User-Agent) will not fix themselves.
            return HttpFailure(f"HTTP {status} from {name}", retryable=False)
        return HttpReply(status=status, body=body, content_type=content_type)

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
