"""``/healthz`` (the process lives) and ``/readyz`` (coordinator and database answer); no auth."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2
from sqlalchemy import text

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway.backends import backends
from cocoa_gateway.keys import ENGINE

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

CHECK_TIMEOUT_S = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _check(name: str, probe: Awaitable[object], *, required: bool) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await probe
    except Exception as exc:
        reason = exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else type(exc).__name__
        # Probes run every few seconds: only a dependency readiness hangs on is worth a warning.
        logger.log(
            logging.WARNING if required else logging.DEBUG, "readiness: %s unavailable (%s)", name, reason
        )
        return "unavailable"
    return "ok"


async def _database(request: web.Request) -> None:
    async with request.app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """200 only when the coordinator and the database answer; geocoder/importer are reported too."""
    b = backends(request)
    timeout = min(CHECK_TIMEOUT_S, b.deadline_s)
    health_check = health_pb2.HealthCheckRequest()
    coordinator, database, geocoder, importer = await asyncio.gather(
        _check(
            "coordinator", b.coordinator.ListJobTypes(cpb.JobTypesRequest(), timeout=timeout), required=True
        ),
        _check("database", _database(request), required=True),
        _check("geocoder", b.geocoder_health.Check(health_check, timeout=timeout), required=False),
        _check("importer", b.importer_health.Check(health_check, timeout=timeout), required=False),
    )
    ready = coordinator == "ok" and database == "ok"
    body = {
        "status": "ready" if ready else "unavailable",
        "coordinator": coordinator,
        "database": database,
        "geocoder": geocoder,
        "importer": importer,
    }
    return web.json_response(body, status=200 if ready else 503)
