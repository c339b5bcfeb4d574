"""Every request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a new one):
its log lines and the gRPC calls it makes carry it (``cocoa_common.requestid``), and the response
answers with it, so a support question can quote it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from cocoa_common import requestid

REQUEST_ID = web.RequestKey("request_id", str)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = requestid.sane(request.headers.get(requestid.HEADER)) or requestid.new()
    request[REQUEST_ID] = request_id
    requestid.current.set(request_id)  # aiohttp serves each request in its own task
    return await handler(request)


async def answer_with_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: before the headers go out, streamed responses included."""
    if REQUEST_ID in request:
        response.headers[requestid.HEADER] = request[REQUEST_ID]
