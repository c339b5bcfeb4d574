"""``GET /metrics``: Prometheus exposition, behind the same Bearer tokens as ``/api/v1`` (any role)."""

from __future__ import annotations

import logging

import grpc
from aiohttp import web
from prometheus_client.exposition import choose_encoder

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway.auth import bearer_token
from cocoa_gateway.backends import backends
from cocoa_gateway.keys import AUTHENTICATOR, METRICS

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    await request.app[AUTHENTICATOR].authenticate(bearer_token(request))
    b = backends(request)
    try:
        stats: cpb.StatsResponse | None = await b.coordinator.GetStats(
            cpb.StatsRequest(), timeout=b.deadline_s
        )
    except grpc.aio.AioRpcError as exc:
        logger.warning("metrics: coordinator unavailable (%s)", exc.code().name)
        stats = None  # the gateway's own figures still go out, with cocoa_coordinator_up 0
    registry = request.app[METRICS]
    # Prometheus text or OpenMetrics, as the scraper's Accept header asks.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    registry.queue.stats = stats  # no await until rendered: concurrent scrapes cannot interleave
    return web.Response(body=encode(registry.registry), headers={"Content-Type": content_type})
