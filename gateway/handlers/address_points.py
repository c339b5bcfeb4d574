"""``POST /api/v1/gis/address-points/import``: an OpenAddresses CSV streamed to the geocoder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from aiohttp import web

from cocoa.geocoder.v1 import geocoder_pb2 as gpb
from cocoa_gateway import audit, params
from cocoa_gateway.auth import require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.uploads import open_upload

routes = web.RouteTableDef()

MAX_BYTES = 2 * 1024**3
# The upload streams through this one call, so its deadline is sized for a large file, not a lookup.
IMPORT_DEADLINE_S = 6 * 3600.0
ADDRESS_POINTS_IMPORT = "ADDRESS_POINTS_IMPORT"


async def _send(
    call: grpc.aio.StreamUnaryCall, source: str, chunks: AsyncIterator[bytes]
) -> gpb.ImportAddressPointsResponse:
    """Write every chunk (the first names the source), then wait for the counts."""
    try:
        first = True
        async for data in chunks:
            await call.write(gpb.AddressPointsChunk(source=source if first else "", data=data))
            first = False
        if first:
            await call.write(gpb.AddressPointsChunk(source=source))
        await call.done_writing()
    except (asyncio.InvalidStateError, grpc.aio.AioRpcError):
        # The geocoder answered early (a refusal). A write that races its answer fails as INTERNAL;
        # ``await call`` below raises the geocoder's real status.
        pass
    except BaseException:
        call.cancel()
        raise
    return await call


@routes.post("/api/v1/gis/address-points/import")
async def import_address_points(request: web.Request) -> web.Response:
    """Multipart ``file`` or a raw ``text/csv`` body; 200 with imported/rejected counts."""
    require_admin(request)
    upload = await open_upload(request, max_bytes=MAX_BYTES)
    source = params.text(request.query, "source") or upload.fields.get("source") or upload.filename or ""
    call = backends(request).geocoder.ImportAddressPoints(timeout=IMPORT_DEADLINE_S)
    response = await _send(call, source, upload.chunks)
    counts = {"imported": response.imported, "rejected": response.rejected}
    await audit.record_audit(
        request, ADDRESS_POINTS_IMPORT, resource="address_points", details={"source": source, **counts}
    )
    return web.json_response({"success": True, **counts, "errors": list(response.errors)})
