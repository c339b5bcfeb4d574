"""``GET /api/v1/voters``: the voters imports stored, to check an import (admins: rows hold names,
birth years and contact details).

    GET /api/v1/voters?search=&householdId=&source=&addressFlag=&zipCode=&limit=50&offset=0

``addressFlag`` lists the voters whose address formed no household and why (``po_box``,
``removed``, ``no_house_number``, ``unparseable``, ``empty``, or ``any``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_gateway import params, views
from cocoa_gateway.auth import require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import bad_request

routes = web.RouteTableDef()

MAX_PAGE = 500
MAX_SEARCH = 200


def _listing(query: Any) -> ipb.ListVotersRequest:
    search = params.text(query, "search") or ""
    if len(search) > MAX_SEARCH:
        raise bad_request(f"search is at most {MAX_SEARCH} characters", "search")
    return ipb.ListVotersRequest(
        search=search,
        household_id=params.text(query, "householdId") or "",
        source=(params.text(query, "source") or "")[:40],
        address_flag=params.text(query, "addressFlag") or "",
        zip_code=params.text(query, "zipCode") or "",
        limit=params.integer(query, "limit", default=50, minimum=1, maximum=MAX_PAGE),
        offset=params.integer(query, "offset", default=0, minimum=0, maximum=params.INT32_MAX),
    )


@routes.get("/api/v1/voters")
async def list_voters(request: web.Request) -> web.Response:
    """In import order, with how many match in all."""
    require_admin(request)
    listing = _listing(request.query)
    b = backends(request)
    response = await b.importer.ListVoters(listing, timeout=b.deadline_s)
    voters = [views.voter_json(v) for v in response.voters]
    return web.json_response(
        {
            "success": True,
            "voters": voters,
            "total": response.total,
            "pagination": views.pagination(listing.limit, listing.offset, len(voters), response.total),
        }
    )
