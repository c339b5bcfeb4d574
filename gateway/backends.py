"""gRPC client stubs for the services behind the gateway, and the per-call deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from grpc_health.v1 import health_pb2_grpc

from cocoa.coordinator.v1 import coordinator_pb2_grpc
from cocoa.geocoder.v1 import geocoder_pb2_grpc
from cocoa.importer.v1 import importer_pb2_grpc
from cocoa_common import grpc_server
from cocoa_common.settings import Settings
from cocoa_gateway.keys import BACKENDS


@dataclass(frozen=True, slots=True)
class Backends:
    """One stub per backend service; every unary call passes ``timeout=deadline_s``."""

    coordinator: coordinator_pb2_grpc.CoordinatorServiceStub
    geocoder: geocoder_pb2_grpc.GeocoderServiceStub
    importer: importer_pb2_grpc.ImporterServiceStub
    geocoder_health: health_pb2_grpc.HealthStub
    importer_health: health_pb2_grpc.HealthStub
    deadline_s: float


@asynccontextmanager
async def open_backends(settings: Settings) -> AsyncIterator[Backends]:
    """Open one keepalive channel per service for the app's lifetime; close them at the end."""
    coordinator = grpc_server.channel(settings.coordinator_grpc_addr)
    geocoder = grpc_server.channel(settings.geocoder_grpc_addr)
    importer = grpc_server.channel(settings.importer_grpc_addr)
    try:
        yield Backends(
            coordinator=coordinator_pb2_grpc.CoordinatorServiceStub(coordinator),
            geocoder=geocoder_pb2_grpc.GeocoderServiceStub(geocoder),
            importer=importer_pb2_grpc.ImporterServiceStub(importer),
            geocoder_health=health_pb2_grpc.HealthStub(geocoder),
            importer_health=health_pb2_grpc.HealthStub(importer),
            deadline_s=settings.request_deadline_s,
        )
    finally:
        for channel in (coordinator, geocoder, importer):
            await channel.close(grace=None)


def backends(request: web.Request) -> Backends:
    """The stubs of the app serving ``request``."""
    return request.app[BACKENDS]
