"""Geocoding: queue household geocoding jobs, look addresses up, list households."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.geocoder.v1 import geocoder_pb2 as gpb
from cocoa_gateway import audit, params, views
from cocoa_gateway.auth import current_user, require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import ApiError, bad_request

routes = web.RouteTableDef()

FILTERS: tuple[str, ...] = ("city", "state", "zipCode", "county", "precinctNumber")
NO_FILTER = "At least one filter must be provided (city, state, zipCode, county, precinctNumber)"
NO_MATCH = "No households found matching the specified filters"
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
MAX_ADDRESSES = 1_000
MAX_HOUSEHOLDS_PAGE = 500
MODES = ("static", "dynamic")
_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")
_STATE = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True, slots=True)
class GeocodeOrder:
    """A validated request to geocode the households matching ``filters``."""

    filters: dict[str, str]
    limit: int
    skip_geocoded: bool
    provider_id: str | None


def clean_filters(raw: Mapping[str, Any], *, required: bool = True) -> dict[str, str]:
    """The given filters (only those), validated; ZIP+4 becomes its ZIP5, states upper case."""
    filters: dict[str, str] = {}
    for name in FILTERS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise bad_request(f"{name} must be a string", name)
        if text := str(value).strip():
            filters[name] = text
    if required and not filters:
        raise bad_request(NO_FILTER, supportedFilters=list(FILTERS))
    if "state" in filters:
        if not _STATE.match(filters["state"]):
            raise bad_request("state must be a two-letter state code", "state")
        filters["state"] = filters["state"].upper()
    if "zipCode" in filters:
        match = _ZIP.match(filters["zipCode"])
        if not match:
            raise bad_request("zipCode must be a 5-digit ZIP code or ZIP+4", "zipCode")
        filters["zipCode"] = match.group(1)
    return filters


def household_filter(filters: Mapping[str, str], **extra: Any) -> gpb.HouseholdFilter:
    return gpb.HouseholdFilter(
        city=filters.get("city", ""),
        state=filters.get("state", ""),
        zip_code=filters.get("zipCode", ""),
        county=filters.get("county", ""),
        precinct_number=filters.get("precinctNumber", ""),
        **extra,
    )


async def check_provider(request: web.Request, provider_id: str | None) -> None:
    """400 naming providerId unless the geocoder knows it."""
    if provider_id is None:
        return
    b = backends(request)
    response = await b.geocoder.ListProviders(gpb.ListProvidersRequest(), timeout=b.deadline_s)
    known = [p.id for p in response.providers]
    if provider_id not in known:
        raise bad_request(f"Unknown providerId: {provider_id}", "providerId", supportedProviders=known)


async def count_households(request: web.Request, order: GeocodeOrder) -> int:
    b = backends(request)
    count = gpb.CountHouseholdsRequest(
        filter=household_filter(order.filters), skip_geocoded=order.skip_geocoded
    )
    return (await b.geocoder.CountHouseholds(count, timeout=b.deadline_s)).count


async def create_geocoding_job(
    request: web.Request,
    job_type: str,
    data: Mapping[str, Any],
    *,
    is_dynamic: bool = False,
    run_at: Timestamp | None = None,
    expires_at: Timestamp | None = None,
    depends_on: Sequence[str] = (),
    priority: int = 0,
    limits: Mapping[str, int] | None = None,
    group: str = "",
) -> cpb.CreateJobResponse:
    """Create the job; ``created`` is False when the Idempotency-Key matched an earlier one."""
    b = backends(request)
    create = cpb.CreateJobRequest(
        type=job_type,
        data_json=json.dumps(data, separators=(",", ":")),
        is_dynamic=is_dynamic,
        created_by_id=current_user(request).user_id,
        idempotency_key=params.idempotency_key(request),
        run_at=run_at,
        expires_at=expires_at,
        depends_on=depends_on,
        priority=priority,
        **(limits or {}),
        group=group,
    )
    return await b.coordinator.CreateJob(create, timeout=b.deadline_s)


def _order_from_query(query: Mapping[str, str]) -> GeocodeOrder:
    return GeocodeOrder(
        filters=clean_filters(query),
        limit=params.integer(query, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        skip_geocoded=params.boolean(query, "skipGeocoded", default=True),
        provider_id=params.text(query, "providerId"),
    )


def job_data(order: GeocodeOrder, **extra: Any) -> dict[str, Any]:
    """The geocoding job's input, as the geocoder's job handler reads it."""
    return {
        "filters": order.filters,
        "limit": order.limit,
        "skipGeocoded": order.skip_geocoded,
        "providerId": order.provider_id,
        **extra,
    }


def _queued_details(order: GeocodeOrder, estimated: int) -> dict[str, Any]:
    details: dict[str, Any] = {name: order.filters.get(name) for name in FILTERS}
    details |= {
        "limit": order.limit,
        "estimatedHouseholds": estimated,
        "providerId": order.provider_id,
        "skipGeocoded": order.skip_geocoded,
    }
    return details


def _queued_message(estimated: int, limit: int, depends_on: Sequence[str]) -> str:
    if not depends_on:
        return f"Geocoding job created for {estimated} households"
    # The households it geocodes are those that match when it starts, after an import, say.
    after = ", ".join(depends_on)
    return f"Geocoding job created; after {after} it geocodes up to {limit} matching households"


@routes.post("/api/v1/gis/households/geocode")
async def geocode_households(request: web.Request) -> web.Response:
    """Queue a ``geocode_households`` job for up to ``limit`` matching households (query parameters)."""
    require_admin(request)
    order = _order_from_query(request.query)
    run_at = params.field_time(request.query, "runAt")  # in a query, write the zone as Z or %2B05:00
    expires_at = params.field_time(request.query, "expiresAt")
    depends_on = params.ids(params.listed(request.query, "dependsOn"), "dependsOn")
    priority = params.field_priority(request.query)
    limits = params.field_limits(request.query)
    group = params.field_group(request.query)
    await check_provider(request, order.provider_id)
    matching = await count_households(request, order)
    # A job that waits for an import geocodes the households that match when it runs.
    if matching == 0 and not depends_on:
        raise ApiError(404, NO_MATCH, filters=order.filters)
    estimated = min(matching, order.limit)
    created = await create_geocoding_job(
        request,
        "geocode_households",
        job_data(order),
        run_at=run_at,
        expires_at=expires_at,
        depends_on=depends_on,
        priority=priority,
        limits=limits,
        group=group,
    )
    job_id = created.job.id
    if created.created:
        details = _queued_details(order, estimated)
        await audit.record_audit(
            request, audit.HOUSEHOLDS_GEOCODE_QUEUED, resource="job", resource_id=job_id, details=details
        )
    body = {
        "success": True,
        "jobId": job_id,
        "message": _queued_message(estimated, order.limit, depends_on),
        "estimatedHouseholds": estimated,
        "limit": order.limit,
        "processingStarted": True,
        # Beyond the limit, the rest waits for another job (skipGeocoded then picks up after this one).
        "matchingHouseholds": matching,
    }
    return web.json_response(body, status=202)


def order_from_body(body: Mapping[str, Any]) -> tuple[GeocodeOrder, str]:
    raw_filters = body.get("filters") or {}
    if not isinstance(raw_filters, dict):
        raise bad_request("filters must be an object", "filters")
    mode = body.get("mode") or "static"
    if mode not in MODES:
        raise bad_request("mode must be static or dynamic", "mode")
    order = GeocodeOrder(
        filters=clean_filters(raw_filters),
        limit=params.json_int(body, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        skip_geocoded=params.json_bool(body, "skipGeocoded", default=True),
        provider_id=params.json_text(body, "providerId"),
    )
    return order, mode


@routes.post("/api/v1/jobs/geocoding")
async def create_geocoding(request: web.Request) -> web.Response:
    """Queue a ``geocoding`` job from a JSON body; ``mode: dynamic`` keeps it open for new households."""
    require_admin(request)
    body = await params.json_object(request)
    order, mode = order_from_body(body)
    run_at = params.json_time(body, "runAt")
    expires_at = params.json_time(body, "expiresAt")
    depends_on = params.json_ids(body, "dependsOn")
    priority = params.json_priority(body)
    limits = params.json_limits(body)
    group = params.json_group(body)
    await check_provider(request, order.provider_id)
    # A dynamic job waits for households still to come, and one that depends on an import geocodes
    # what matches when it runs, so only a static job that runs now needs matches now.
    if mode == "static" and not depends_on and await count_households(request, order) == 0:
        raise ApiError(404, NO_MATCH, filters=order.filters)
    data = job_data(order, mode=mode)
    created = await create_geocoding_job(
        request,
        "geocoding",
        data,
        is_dynamic=mode == "dynamic",
        run_at=run_at,
        expires_at=expires_at,
        depends_on=depends_on,
        priority=priority,
        limits=limits,
        group=group,
    )
    job = created.job
    if created.created:
        details = {"type": "geocoding", **data}
        await audit.record_audit(
            request, audit.CREATE_JOB, resource="job", resource_id=job.id, details=details
        )
    body = {
        "success": True,
        "jobId": job.id,
        "type": "geocoding",
        "mode": mode,
        "status": views.status_name(job),
        "createdAt": views.timestamp(job, "created_at"),
    }
    return web.json_response(body, status=202)


def _address(item: Any, index: int) -> gpb.AddressInput:
    if isinstance(item, str) and item.strip():
        return gpb.AddressInput(one_line=item.strip())
    if not isinstance(item, dict):
        raise bad_request(f"addresses[{index}] must be an object or a one-line address", "addresses")
    parts: dict[str, str] = {}
    for name in ("id", "street", "city", "state", "zip"):
        value = item.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise bad_request(f"addresses[{index}].{name} must be a string", "addresses")
        parts[name] = "" if value is None else str(value).strip()
    if not parts["street"]:
        raise bad_request(f"addresses[{index}].street is required", "addresses")
    return gpb.AddressInput(**parts)


def _addresses(body: Mapping[str, Any]) -> list[gpb.AddressInput]:
    raw = body.get("addresses")
    if not isinstance(raw, list) or not raw:
        raise bad_request("addresses must be a non-empty list", "addresses")
    if len(raw) > MAX_ADDRESSES:
        raise ApiError(413, f"At most {MAX_ADDRESSES} addresses per request", field="addresses")
    return [_address(item, i) for i, item in enumerate(raw)]


@routes.post("/api/v1/gis/geocode")
async def geocode_addresses(request: web.Request) -> web.Response:
    """Synchronous look-ups, results in input order."""
    current_user(request)
    body = await params.json_object(request)
    addresses = _addresses(body)
    provider_id = params.json_text(body, "providerId")
    await check_provider(request, provider_id)
    b = backends(request)
    geocode = gpb.GeocodeRequest(addresses=addresses, provider_id=provider_id or "")
    response = await b.geocoder.Geocode(geocode, timeout=b.deadline_s)
    return web.json_response({"results": [views.geocode_result_json(r) for r in response.results]})


@routes.get("/api/v1/gis/providers")
async def list_providers(request: web.Request) -> web.Response:
    """Every provider the geocoder knows (what ``providerId`` may name), by id, and whether the
    default fallback chain uses it."""
    current_user(request)
    b = backends(request)
    response = await b.geocoder.ListProviders(gpb.ListProvidersRequest(), timeout=b.deadline_s)
    providers = [
        {"id": p.id, "inDefaultChain": p.in_default_chain, "offline": p.offline} for p in response.providers
    ]
    return web.json_response({"success": True, "providers": providers, "count": len(providers)})


def _geocoded(query: Mapping[str, str]) -> int:
    if params.text(query, "geocoded") is None:
        return 0
    return 1 if params.boolean(query, "geocoded", default=False) else 2


@routes.get("/api/v1/gis/households")
async def list_households(request: web.Request) -> web.Response:
    current_user(request)
    query = request.query
    limit = params.integer(query, "limit", default=50, minimum=1, maximum=MAX_HOUSEHOLDS_PAGE)
    offset = params.integer(query, "offset", default=0, minimum=0, maximum=params.INT32_MAX)
    hfilter = household_filter(
        clean_filters(query, required=False),
        search=params.text(query, "search") or "",
        geocoded=_geocoded(query),
    )
    b = backends(request)
    listing = gpb.ListHouseholdsRequest(filter=hfilter, limit=limit, offset=offset)
    response = await b.geocoder.ListHouseholds(listing, timeout=b.deadline_s)
    households = [views.household_json(h) for h in response.households]
    return web.json_response(
        {
            "households": households,
            "total": response.total,
            "pagination": views.pagination(limit, offset, len(households), response.total),
        }
    )
