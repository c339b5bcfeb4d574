"""``GET /api/v1/jobs/{id}/events``: the coordinator's WatchJob stream as Server-Sent Events.

Each event is ``id: <seq>``, ``event: <kind>``, ``data: <job json>``. The stream resumes after
``Last-Event-ID`` (or ``?lastEventId=``), sends a comment every 15 s while the job is quiet so
proxies keep it open, and ends once the job is terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import grpc
from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway import lookups, views
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import bad_request, from_grpc
from cocoa_gateway.keys import SHUTTING_DOWN

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
# Each WatchJob call has this deadline; the stream then re-attaches after the last event it sent.
SEGMENT_S = 300.0
# 400 segments of 5 minutes outlast the 24 h default job timeout.
MAX_SEGMENTS = 400
RETRY_MS = 2000


def last_event_id(request: web.Request) -> int:
    """The sequence number to resume after; 0 replays the job's whole history."""
    raw = (request.headers.get("Last-Event-ID") or request.query.get("lastEventId") or "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise bad_request("Last-Event-ID must be the id of an event of this stream", "Last-Event-ID")
    return int(raw)


def format_event(kind: str, data: Mapping[str, Any], seq: int | None = None) -> bytes:
    lines = [f"id: {seq}"] if seq is not None else []
    lines += [f"event: {kind}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()


async def stream(request: web.Request, job: cpb.Job, after_seq: int) -> web.StreamResponse:
    """Answer with the event stream of ``job`` (which the caller has already found)."""
    users = await lookups.creators(request, [job])
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx would otherwise buffer the stream
        }
    )
    await response.prepare(request)
    await response.write(f"retry: {RETRY_MS}\n\n".encode())
    try:
        await _pump(request, response, job.id, after_seq, users)
    except ConnectionError:
        logger.debug("event stream of job %s: client went away", job.id)
    except grpc.aio.AioRpcError as exc:
        # Headers are sent: report in-band, the client reconnects with Last-Event-ID.
        api = from_grpc(exc)
        with contextlib.suppress(ConnectionError):
            await response.write(format_event("error", {"error": api.message, "status": api.status}))
    return response


async def _pump(
    request: web.Request,
    response: web.StreamResponse,
    job_id: str,
    after_seq: int,
    users: Mapping[str, views.UserRef],
) -> None:
    last = after_seq
    for _ in range(MAX_SEGMENTS):
        call = backends(request).coordinator.WatchJob(
            cpb.WatchJobRequest(id=job_id, after_seq=last), timeout=SEGMENT_S
        )
        try:
            async with contextlib.aclosing(_events(call, response, request.app[SHUTTING_DOWN])) as events:
                async for event in events:
                    data = views.job_json(event.job, users)
                    await response.write(format_event(event.kind, data, event.seq))
                    last = event.seq
            return  # the job is terminal, or the server is stopping
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
        finally:
            call.cancel()


async def _events(
    call: grpc.aio.UnaryStreamCall, response: web.StreamResponse, stop: asyncio.Event
) -> AsyncIterator[cpb.JobEvent]:
    """The call's events; a keepalive comment whenever none came for KEEPALIVE_S; ends on ``stop``."""
    stopping = asyncio.ensure_future(stop.wait())
    pending: asyncio.Future[Any] | None = None
    # Bounded by the call's deadline: at most SEGMENT_S / KEEPALIVE_S quiet rounds per event.
    try:
        while True:
            pending = pending or asyncio.ensure_future(call.read())
            done, _ = await asyncio.wait(
                {pending, stopping}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
            )
            if stopping in done:
                return
            if pending not in done:
                await response.write(b": keepalive\n\n")
                continue
            message, pending = pending.result(), None
            if message is grpc.aio.EOF:
                return
            yield message
    finally:
        stopping.cancel()
        if pending is not None:
            pending.cancel()
