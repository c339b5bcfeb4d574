"""The gateway's one error middleware and its one gRPC status -> HTTP status table.

Every failure leaves as ``{"error": "<sentence>", ...}`` JSON (plus ``"success": false`` under
``/api/v1/jobs``); never a stack trace, never an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from cocoa_common.grpc_server import domain_error_kind, error_field, is_domain_error

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# One table for the whole gateway: gRPC status code -> HTTP status. Anything else is a 500.
HTTP_STATUS_FOR_GRPC: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,  # an illegal status move; the contract says 400
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
    grpc.StatusCode.DATA_LOSS: 460,  # bytes not matching their checksum: tus's "Checksum Mismatch"
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Domain errors whose HTTP status is not their code's: a quota shares RESOURCE_EXHAUSTED with a
# body over its limit, but the client should wait or clean up, not send less (RFC 6585).
HTTP_STATUS_FOR_DOMAIN_ERROR: dict[str, int] = {"QuotaExceeded": 429}
# Codes whose details are the domain's own user-facing sentence; the others may leak transport
# internals (addresses, stack fragments), so they get a fixed sentence instead.
_DOMAIN_CODES = frozenset(
    {
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.DATA_LOSS,
    }
)
_FIXED_MESSAGES: dict[int, str] = {
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    500: "Internal server error",
    503: "A backend service is unavailable; try again later",
    504: "A backend service did not answer in time",
}

RETRY_AFTER_S = "5"  # seconds, on every 503: a restarting database or service is back in a few


class ApiError(Exception):
    """An expected failure with its HTTP status; ``extra`` keys are merged into the JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def bad_request(message: str, field: str | None = None, **extra: Any) -> ApiError:
    """A 400 that names the offending parameter when there is one."""
    if field is not None:
        extra["field"] = field
    return ApiError(400, message, **extra)


def error_response(
    request: web.Request,
    status: int,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The JSON body of every error; ``/api/v1/jobs*`` bodies also carry ``success: false``."""
    body: dict[str, Any] = {}
    if request.path.startswith("/api/v1/jobs"):
        body["success"] = False
    body["error"] = message
    body.update(extra or {})
    if status == 503:  # an outage: tell clients when to try again rather than let them hammer it
        headers = {**(headers or {}), "Retry-After": RETRY_AFTER_S}
    return web.json_response(body, status=status, headers=headers)


def from_grpc(exc: grpc.aio.AioRpcError) -> ApiError:
    """Translate a failed RPC through the one status table."""
    status = HTTP_STATUS_FOR_DOMAIN_ERROR.get(domain_error_kind(exc) or "") or HTTP_STATUS_FOR_GRPC.get(
        exc.code(), 500
    )
    if exc.code() in _DOMAIN_CODES or is_domain_error(exc):
        field = error_field(exc)
        return ApiError(status, exc.details() or _FIXED_MESSAGES.get(status, "Error"), **_field(field))
    if status == 500:
        logger.error("backend call failed: %s %s", exc.code(), exc.details())
    return ApiError(status, _FIXED_MESSAGES[status])


def _field(field: str | None) -> dict[str, str]:
    return {"field": field} if field else {}


def _from_http(request: web.Request, exc: web.HTTPException) -> web.Response:
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    message = _FIXED_MESSAGES.get(exc.status, exc.reason)
    return error_response(request, exc.status, message, headers=headers)


def abort_stream(request: web.Request) -> None:
    """A streamed body failed midway: drop the connection so the client sees it truncated
    (its status line is already sent, so no error response can follow)."""
    if request.transport is not None:
        request.transport.close()


def _already_sent(request: web.Request) -> bool:
    writer = request.writer
    return writer is not None and writer.output_size > 0


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure as JSON; unexpected ones are logged and hidden behind a 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects pass through
        if _already_sent(request):
            raise
        return _from_http(request, exc)
    except Exception as exc:
        if _already_sent(request):
            raise  # a streamed response began; aiohttp closes the connection
        return _render(request, exc)


def _render(request: web.Request, exc: Exception) -> web.Response:
    if isinstance(exc, ApiError):
        return error_response(request, exc.status, exc.message, exc.extra)
    if isinstance(exc, grpc.aio.AioRpcError):
        api = from_grpc(exc)
        return error_response(request, api.status, api.message, api.extra)
    logger.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, 500, _FIXED_MESSAGES[500])
