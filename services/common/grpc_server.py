"""gRPC server plumbing shared by the services: error mapping, health, graceful stop."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import sqlalchemy.exc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cocoa_common import errors, requestid
from cocoa_common.outages import is_transient

logger = logging.getLogger(__name__)

# One table for the whole gRPC boundary: domain error -> status code.
STATUS_FOR_ERROR: dict[type[errors.CocoaError], grpc.StatusCode] = {
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidTransition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Conflict: grpc.StatusCode.ALREADY_EXISTS,
    errors.TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.QuotaExceeded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Corrupted: grpc.StatusCode.DATA_LOSS,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

# Keepalive so that a worker whose host vanished is noticed without waiting for TCP timeouts.
KEEPALIVE_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
]
MESSAGE_SIZE_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]
# A service scaled to several replicas is one name that resolves to each of them (compose's
# `geocoder:50052`, a Kubernetes headless service, or `ipv4:10.0.0.7:50052,10.0.0.8:50052`).
# gRPC's default policy sends every call to the first address that answers; round_robin keeps a
# connection to each and takes them in turn, skipping those that are down.
ROUND_ROBIN = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


OUTAGE_MESSAGE = "The database or a service this one needs is unreachable; try again"

# The trailing metadata key that carries the parameter a domain error names.
FIELD_METADATA_KEY = "cocoa-field"
# Present on every domain error: its details are our own sentence for the user, whatever its code
# (an UNAVAILABLE from gRPC itself may name addresses; "Upload storage is nearly full" may be shown).
# Its value is the error's class name, which tells apart errors sharing a code (TooLarge and
# QuotaExceeded are both RESOURCE_EXHAUSTED; HTTP says 413 and 429).
DOMAIN_METADATA_KEY = "cocoa-domain"


def error_field(exc: grpc.aio.AioRpcError) -> str | None:
    """The parameter a failed call's domain error names, read back from its trailing metadata."""
    for key, value in exc.trailing_metadata() or ():
        if key == FIELD_METADATA_KEY:
            return value if isinstance(value, str) else value.decode()
    return None


def is_domain_error(exc: grpc.aio.AioRpcError) -> bool:
    """Whether a failed call's details are a domain error's message, safe to show its caller."""
    return domain_error_kind(exc) is not None


def domain_error_kind(exc: grpc.aio.AioRpcError) -> str | None:
    """The class name of the domain error a failed call raised (``"QuotaExceeded"``), if one did."""
    for key, value in exc.trailing_metadata() or ():
        if key == DOMAIN_METADATA_KEY:
            return value if isinstance(value, str) else value.decode()
    return None


def status_for(exc: errors.CocoaError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR_ERROR:
            return STATUS_FOR_ERROR[cls]
    return grpc.StatusCode.INTERNAL


def _details(exc: errors.CocoaError) -> str:
    # The field travels in the details so the gateway can name the parameter.
    return f"{exc.field}: {exc.message}" if exc.field else exc.message


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
    if isinstance(exc, sqlalchemy.exc.DataError):
        # The database refused a value the caller sent (a NUL in text, a number out of range):
        # the caller's mistake, reported without the SQL.
        logger.info("request refused by the database: %s", exc.orig)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid value: {_first_line(exc.orig)}")
    if isinstance(exc, errors.CocoaError):
        field = ((FIELD_METADATA_KEY, exc.field),) if exc.field else ()
        context.set_trailing_metadata(((DOMAIN_METADATA_KEY, type(exc).__name__), *field))
        await context.abort(status_for(exc), exc.message)
    if is_transient(exc):
        # An outage, not a bug: the caller may try again, and clients retry UNAVAILABLE.
        logger.warning("RPC hit an outage: %s: %s", type(exc).__name__, _first_line(exc))
        await context.abort(grpc.StatusCode.UNAVAILABLE, OUTAGE_MESSAGE)
    logger.exception("unexpected error in RPC", exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "Internal error")


def _first_line(exc: BaseException | None) -> str:
    return str(exc).splitlines()[0] if exc is not None and str(exc) else "refused by the database"


def _wrap_unary(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        requestid.adopt(context)
        try:
            return await fn(request, context)
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await _abort(context, exc)

    return wrapper


def _wrap_stream(fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        requestid.adopt(context)
        try:
            async for item in fn(request, context):
                yield item
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await _abort(context, exc)

    return wrapper


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Turns domain errors into status codes and hides unexpected ones behind INTERNAL; each call
    runs with the request id its caller sent (``requestid``)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary(handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream(handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def new_server(max_connection_age_s: float = 0.0) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A grpc.aio server with the error interceptor and the standard health service.

    ``max_connection_age_s`` > 0: each client connection is asked to go (GOAWAY) after that long,
    so clients resolve the service's name again and find replicas added since. Calls under way
    finish on the old connection however long they take (no grace limit: a 5 GB upload is not cut).
    """
    options: list[tuple[str, Any]] = [*KEEPALIVE_OPTIONS, *MESSAGE_SIZE_OPTIONS, ("grpc.so_reuseport", 0)]
    if max_connection_age_s > 0:
        options.append(("grpc.max_connection_age_ms", int(max_connection_age_s * 1000)))
    server = grpc.aio.server(interceptors=[ErrorMappingInterceptor()], options=options)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    return server, health_servicer


async def mark_serving(health_servicer: health.aio.HealthServicer, *services: str) -> None:
    for name in ("", *services):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


class BindError(RuntimeError):
    """The service cannot listen where its settings say: the port is taken, or the host is not ours."""


def bind(server: grpc.aio.Server, addr: str) -> int:
    """Bind ``addr`` (``host:0`` picks a free port) and return the port."""
    try:
        port = server.add_insecure_port(addr)
    except RuntimeError:  # grpcio raises it when no address could be bound
        port = 0
    if port == 0:
        raise BindError(f"cannot listen on {addr}: the port is in use, or the address is not this host's")
    return port


def channel(addr: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        addr,
        options=[*KEEPALIVE_OPTIONS, *MESSAGE_SIZE_OPTIONS, ("grpc.service_config", ROUND_ROBIN)],
        interceptors=requestid.client_interceptors(),
    )


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
