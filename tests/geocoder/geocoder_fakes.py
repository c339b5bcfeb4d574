"""Loopback fakes of the Census and Nominatim geocoders, speaking their wire formats.

Each fake answers from a table of known streets, records every request, and can be told to misbehave
for the next N requests (429, 5xx, hang, malformed body, dropped connection).
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from aiohttp import BodyPartReader, web

Fault = Literal["429", "500", "503", "403", "hang", "malformed", "nested", "drop"]

CENSUS_HEADER = [
    "Record ID Number",
    "Input Address",
    "TIGER Address Range Match Indicator",
    "TIGER Match Type",
    "TIGER Output Address",
    "Interpolated Longitude and Latitude",
    "Tigerline ID",
    "Side",
]
REDIS_URL = "redis://127.0.0.1:6379/15"  # tests' scratch DB; keys are namespaced per test
STOCK_USER_AGENT_PREFIX = "Python/"  # aiohttp's default "Python/3.x aiohttp/3.y"


@dataclass(frozen=True)
class Place:
    """A known address. ``kind`` drives the Nominatim shape: house, road or city level."""

    street: str
    latitude: float
    longitude: float
    city: str = "RALEIGH"
    state: str = "NC"
    zip_code: str = "27601"
    match_type: str = "Exact"
    kind: Literal["house", "road", "city"] = "house"

    @property
    def matched_address(self) -> str:
        return f"{self.street}, {self.city}, {self.state}, {self.zip_code}"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    rows: list[list[str]] = field(default_factory=list)  # Census batch rows as uploaded
    form: dict[str, str] = field(default_factory=dict)  # other multipart fields (benchmark)


@dataclass
class FakeControl:
    """Shared state of one fake server: address table, fault queue and request log."""

    places: dict[str, Place] = field(default_factory=dict)
    ties: set[str] = field(default_factory=set)
    omitted: set[str] = field(default_factory=set)  # Census batch rows silently left out of the reply
    requests: list[RecordedRequest] = field(default_factory=list)
    retry_after: str = "0"
    hang_seconds: float = 10.0
    census_header_row: bool = False
    # Census batches with more rows than this get a 503 (None: no limit); drives bisection tests.
    max_batch_rows: int | None = None
    require_key: str | None = None  # LocationIQ-style: 401 unless ?key= matches
    reject_stock_user_agent: bool = True  # Nominatim policy: 403 for library-default UAs
    shuffle_seed: int = 7
    _faults: deque[Fault] = field(default_factory=deque, repr=False)
    _release: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def add_place(self, street: str, latitude: float, longitude: float, **details: str) -> Place:
        place = Place(street.upper(), latitude, longitude, **details)
        self.places[place.street] = place
        return place

    def add_tie(self, street: str) -> None:
        self.ties.add(street.upper())

    def fail_next(self, fault: Fault, count: int = 1) -> None:
        """Make the next ``count`` requests misbehave."""
        self._faults.extend([fault] * count)

    def release_hangs(self) -> None:
        self._release.set()

    async def hangs_released(self) -> None:
        await self._release.wait()

    def paths(self, suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def lookup(self, street: str) -> Place | None:
        return self.places.get(" ".join(street.upper().split()))

    def _next_fault(self) -> Fault | None:
        return self._faults.popleft() if self._faults else None


async def _apply_fault(
    request: web.Request, control: FakeControl, fault: Fault | None
) -> web.StreamResponse | None:
    """Return the faulty response, or None when the request should be served normally."""
    if fault is None:
        return None
    if fault == "429":
        return web.Response(
            status=429, text="Too Many Requests", headers={"Retry-After": control.retry_after}
        )
    if fault in ("500", "503", "403"):
        return web.Response(
            status=int(fault), text="<html><body>error</body></html>", content_type="text/html"
        )
    if fault == "hang":
        try:
            await asyncio.wait_for(control.hangs_released(), control.hang_seconds)
        except TimeoutError:
            pass
        return web.Response(status=504, text="gave up")
    if fault == "malformed":
        return web.Response(text="<html><body>Service Unavailable</body></html>", content_type="text/html")
    if fault == "nested":  # valid-looking JSON nested past any parser's recursion limit
        return web.Response(text="[" * 100_000, content_type="application/json")
    # "drop": close the socket without a response, like curl's "Empty reply from server".
    assert request.transport is not None
    request.transport.close()
    raise asyncio.CancelledError  # aiohttp ends the handler quietly once the peer is gone


def _record(
    request: web.Request,
    control: FakeControl,
    rows: list[list[str]] | None = None,
    form: dict[str, str] | None = None,
) -> None:
    control.requests.append(
        RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            rows=rows or [],
            form=form or {},
        )
    )


class CountingLimiter:
    """A RateLimiter that never waits but counts acquisitions."""

    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1


class FakeService(NamedTuple):
    """What the fake-server fixtures yield: where it listens and how to steer it."""

    base_url: str
    control: FakeControl


# --- Census -----------------------------------------------------------------------------------


def make_census_app(control: FakeControl) -> web.Application:
    app = web.Application()
    app.router.add_post("/geocoder/locations/addressbatch", _census_batch_handler(control))
    app.router.add_get("/geocoder/locations/onelineaddress", _census_one_line_handler(control))
    return app


def _census_batch_handler(control: FakeControl) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.StreamResponse:
        form: dict[str, str] = {}
        upload = ""
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader):
                continue  # nested multipart: the real service does not accept it either
            body = (await part.read()).decode("utf-8")
            if part.name == "addressFile":
                upload = body
            else:
                form[str(part.name)] = body
        rows = [row for row in csv.reader(io.StringIO(upload)) if row]
        _record(request, control, rows=rows, form=form)
        faulty = await _apply_fault(request, control, control._next_fault())
        if faulty is not None:
            return faulty
        if "benchmark" not in form or any(len(row) != 5 for row in rows):
            return web.json_response({"errors": ["bad batch file"], "status": "400"}, status=400)
        if control.max_batch_rows is not None and len(rows) > control.max_batch_rows:
            return web.Response(status=503, text="Service Unavailable")
        return web.Response(
            text=_census_batch_csv(rows, control),
            content_type="text/plain",
            headers={"Content-Disposition": "attachment; filename=GeocodeResults.csv"},
        )

    return handler


def _census_batch_csv(rows: list[list[str]], control: FakeControl) -> str:
    out_rows = [_census_batch_row(row, control) for row in rows if row[1].upper() not in control.omitted]
    shuffled = list(out_rows)
    random.Random(control.shuffle_seed).shuffle(shuffled)
    if shuffled == out_rows:
        shuffled.reverse()  # the real service never promises order; make sure tests see that
    if control.census_header_row:
        shuffled.insert(0, CENSUS_HEADER)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(shuffled)
    return buffer.getvalue()


def _census_batch_row(row: list[str], control: FakeControl) -> list[str]:
    record_id, street = row[0], row[1]
    echoed = ", ".join(row[1:])
    if street.upper() in control.ties:
        return [record_id, echoed, "Tie"]
    place = control.lookup(street)
    if place is None:
        return [record_id, echoed, "No_Match"]
    coords = f"{place.longitude},{place.latitude}"  # one field, longitude first
    return [record_id, echoed, "Match", place.match_type, place.matched_address, coords, "613199520", "L"]


def _census_one_line_handler(control: FakeControl) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.StreamResponse:
        _record(request, control)
        faulty = await _apply_fault(request, control, control._next_fault())
        if faulty is not None:
            return faulty
        address = request.query.get("address", "")
        if not address or "benchmark" not in request.query:
            return web.json_response({"errors": ["Address cannot be empty"], "status": "400"}, status=400)
        street = address.split(",")[0]
        place = control.lookup(street)
        matches = [_census_json_match(place)] if place else []
        if street.upper().strip() in control.ties:
            tie = Place(street.upper(), 35.0, -78.0)
            matches = [_census_json_match(tie), _census_json_match(tie)]
        benchmark = {"id": "4", "benchmarkName": request.query["benchmark"], "isDefault": True}
        return web.json_response(
            {
                "result": {
                    "input": {"address": {"address": address}, "benchmark": benchmark},
                    "addressMatches": matches,
                }
            }
        )

    return handler


def _census_json_match(place: Place) -> dict[str, object]:
    return {
        "matchedAddress": place.matched_address,
        "coordinates": {"x": place.longitude, "y": place.latitude},
        "tigerLine": {"tigerLineId": "613199520", "side": "L"},
        "addressComponents": {"zip": place.zip_code, "city": place.city, "state": place.state},
    }


# --- Nominatim --------------------------------------------------------------------------------


def make_nominatim_app(control: FakeControl) -> web.Application:
    app = web.Application()
    handler = _nominatim_search_handler(control)
    app.router.add_get("/search", handler)
    app.router.add_get("/v1/search", handler)  # LocationIQ layout
    return app


def _nominatim_search_handler(control: FakeControl) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.StreamResponse:
        _record(request, control)
        faulty = await _apply_fault(request, control, control._next_fault())
        if faulty is not None:
            return faulty
        user_agent = request.headers.get("User-Agent", "")
        if control.reject_stock_user_agent and (
            not user_agent or user_agent.startswith(STOCK_USER_AGENT_PREFIX)
        ):
            return web.Response(status=403, text="Access blocked: identify your application")
        if control.require_key is not None and request.query.get("key") != control.require_key:
            return web.json_response({"error": "Invalid key"}, status=401)
        if "q" in request.query:
            return web.json_response({"error": "structured queries only in this fake"}, status=400)
        place = control.lookup(request.query.get("street", ""))
        return web.json_response([_nominatim_item(place)] if place else [])

    return handler


def _nominatim_item(place: Place) -> dict[str, object]:
    number, _, road = place.street.partition(" ")
    address: dict[str, str] = {
        "road": road.title(),
        "city": place.city.title(),
        "state": "North Carolina",
        "ISO3166-2-lvl4": f"US-{place.state}",
        "postcode": place.zip_code,
        "country": "United States",
        "country_code": "us",
    }
    shape: Mapping[str, object]
    if place.kind == "house":
        address["house_number"] = number
        shape = {
            "category": "place",
            "type": "house",
            "place_rank": 30,
            "addresstype": "place",
            "importance": 1e-05,
        }
    elif place.kind == "road":
        address.pop("house_number", None)
        shape = {"category": "highway", "type": "residential", "place_rank": 26, "addresstype": "road"}
    else:
        address = {"city": place.city.title(), "state": "North Carolina", "country_code": "us"}
        shape = {"category": "boundary", "type": "administrative", "place_rank": 16, "addresstype": "city"}
    lat, lon = place.latitude, place.longitude
    return {
        "place_id": 123456,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "node",
        "osm_id": 987654,
        "lat": f"{lat:.7f}",  # strings on the wire
        "lon": f"{lon:.7f}",
        "name": "",
        "display_name": f"{place.street.title()}, {place.city.title()}, North Carolina, {place.zip_code}, United States",
        "address": address,
        "boundingbox": [
            f"{lat - 0.0001:.7f}",
            f"{lat + 0.0001:.7f}",
            f"{lon - 0.0001:.7f}",
            f"{lon + 0.0001:.7f}",
        ],
        "importance": 0.1,
        **shape,
    }
