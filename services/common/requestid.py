"""Request ids: one id follows a REST request through every gRPC call it causes, into each
service's log lines, so ops can find what one request did in the gateway, coordinator, importer
and geocoder logs alike.

The gateway takes the caller's ``X-Request-ID`` (when it is a sane token) or makes one, answers
with it, and keeps it in a context variable; gRPC client interceptors send it as ``x-request-id``
metadata, and the server interceptor puts it back into the context variable of the call it serves.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import grpc

HEADER = "X-Request-ID"
METADATA_KEY = "x-request-id"
NONE = "-"  # what a log line shows outside a request

current: ContextVar[str] = ContextVar("request_id", default=NONE)
# The job a worker is running in this task (set by the worker runtime), for the same log lines.
current_job: ContextVar[str] = ContextVar("job_id", default=NONE)
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def sane(value: str | None) -> str | None:
    """A caller's id when it is 1-64 letters, digits or ``._:-`` (anything else is not logged)."""
    return value if value is not None and _SANE.fullmatch(value) else None


def new() -> str:
    return secrets.token_hex(8)


class LogFilter(logging.Filter):
    """Gives every record a ``request_id`` and a ``job_id`` (and ``job``, `` job=<id>`` or empty)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        job_id = current_job.get()
        record.job_id = job_id
        record.job = "" if job_id == NONE else f" job={job_id}"
        return True


def from_metadata(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == METADATA_KEY and isinstance(value, str):
            return sane(value)
    return None


def _with_id(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    request_id = current.get()
    if request_id == NONE:
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata[METADATA_KEY] = request_id
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_id(client_call_details), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_id(client_call_details), request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(_with_id(client_call_details), request_iterator)


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """For the channels a request's calls go through. The worker stream (stream-stream) is not
    any one request's, so it is left alone."""
    return [_UnaryUnary(), _UnaryStream(), _StreamUnary()]


def adopt(context: grpc.aio.ServicerContext) -> None:
    """Take the id the caller sent for the call being served (grpc.aio serves each call in its
    own task, so this reaches only that call's log lines and the calls it makes)."""
    current.set(from_metadata(context.invocation_metadata()) or NONE)
