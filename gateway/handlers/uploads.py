"""Resumable uploads over the tus 1.0 protocol (core, creation, termination, expiration, checksum),
so a 5 GB voter file sent over a connection that drops carries on where it stopped, with any tus
client (tus-js-client, Uppy, tuspy) or curl:

    POST   /api/v1/uploads          Upload-Length, Upload-Metadata (filename)  -> 201, Location
                                    (its body, if any, is the first piece: creation-with-upload)
    HEAD   /api/v1/uploads/{id}     -> Upload-Offset: where to send from
    PATCH  /api/v1/uploads/{id}     Upload-Offset, application/offset+octet-stream body -> 204
    DELETE /api/v1/uploads/{id}     -> 204
    GET    /api/v1/uploads/{id}     -> the upload as JSON (offset, length, expiry, job)
    GET    /api/v1/uploads          -> the caller's unfinished uploads, newest first

An upload belongs to the admin who created it: to anyone else it is a 404, as an unknown one is.
Each admin may hold ``UPLOAD_MAX_OPEN_PER_USER`` unfinished uploads; creating another is a 429.

Once complete, ``uploadId`` names it on ``POST /api/v1/voters/import`` or
``POST /api/v1/gis/parcels/import`` instead of a ``file`` part. Each PATCH body streams to the
importer's ``AppendResumableUpload``, never whole in memory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email.utils
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import grpc
from aiohttp import web

from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_gateway import views
from cocoa_gateway.audit import CREATE_UPLOAD, DELETE_UPLOAD, record_audit
from cocoa_gateway.auth import require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import ApiError, bad_request
from cocoa_gateway.keys import SETTINGS
from cocoa_gateway.uploads import CHUNK_BYTES

routes = web.RouteTableDef()

PREFIX = "/api/v1/uploads"
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = "sha1,sha256,md5"
OFFSET_STREAM = "application/offset+octet-stream"
# One PATCH may carry the whole file from a slow client, so its deadline is the upload route's.
APPEND_DEADLINE_S = 6 * 3600.0
MAX_METADATA = 4096


async def answer_as_tus(request: web.Request, response: web.StreamResponse) -> None:
    """tus asks for ``Tus-Resumable`` on every answer of its routes but OPTIONS, errors included."""
    if request.path.startswith(PREFIX) and request.method != "OPTIONS":
        response.headers["Tus-Resumable"] = TUS_VERSION
        if response.status == 412:  # a version we do not speak: say which we do
            response.headers["Tus-Version"] = TUS_VERSION


def _check_version(request: web.Request) -> None:
    version = request.headers.get("Tus-Resumable")
    if version is not None and version != TUS_VERSION:
        raise ApiError(
            412, f"Tus-Resumable {version[:20]!r} is not supported; this server speaks {TUS_VERSION}"
        )


def _header_integer(request: web.Request, name: str) -> int:
    raw = request.headers.get(name)
    if raw is None:
        raise bad_request(f"{name} header is required", name)
    if not raw.isdigit() or not raw.isascii() or len(raw) > 19:
        raise bad_request(f"{name} must be a whole number of bytes", name)
    return int(raw)


def _metadata(raw: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (a value may be absent)."""
    if len(raw) > MAX_METADATA:
        raise bad_request(f"Upload-Metadata is over {MAX_METADATA} characters", "Upload-Metadata")
    pairs: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        key, _, value = item.partition(" ")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise bad_request(
                f"Upload-Metadata value of {key[:40]!r} must be base64 of UTF-8 text", "Upload-Metadata"
            ) from None
    return pairs


def _checksum(request: web.Request) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>``, or nothing."""
    raw = request.headers.get("Upload-Checksum")
    if raw is None:
        return "", b""
    algorithm, _, encoded = raw.strip().partition(" ")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if not algorithm or not digest:
        raise bad_request("Upload-Checksum must be '<algorithm> <base64 digest>'", "Upload-Checksum")
    return algorithm.lower(), digest


def _http_date(upload: ipb.ResumableUpload) -> dict[str, str]:
    if not upload.HasField("expires_at"):
        return {}
    return {
        "Upload-Expires": email.utils.format_datetime(upload.expires_at.ToDatetime(tzinfo=UTC), usegmt=True)
    }


def upload_json(upload: ipb.ResumableUpload) -> dict[str, Any]:
    return {
        "uploadId": upload.id,
        "filename": upload.filename,
        "length": upload.length,
        "offset": upload.offset,
        "complete": upload.offset == upload.length,
        "createdAt": views.timestamp(upload, "created_at"),
        "expiresAt": views.timestamp(upload, "expires_at"),
        "jobId": upload.job_id or None,
        "location": f"{PREFIX}/{upload.id}",
    }


@routes.options(PREFIX)
async def discover(request: web.Request) -> web.Response:
    require_admin(request)
    return web.Response(
        status=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Max-Size": str(request.app[SETTINGS].upload_max_bytes),
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS,
        },
    )


@routes.post(PREFIX)
async def create_upload(request: web.Request) -> web.Response:
    """tus creation: ``Upload-Length`` and, in ``Upload-Metadata``, the file's ``filename``. A body
    is the upload's first piece (creation-with-upload), sent as a PATCH at offset 0 would be; if it
    is refused or cut short, the upload is removed, since the client never learnt where it is."""
    user = require_admin(request)
    _check_version(request)
    if "Upload-Defer-Length" in request.headers:
        raise bad_request("Upload-Defer-Length is not supported: give Upload-Length", "Upload-Defer-Length")
    length = _header_integer(request, "Upload-Length")
    with_piece = request.body_exists
    if with_piece and request.content_type != OFFSET_STREAM:
        raise ApiError(415, f"Send the first piece as {OFFSET_STREAM}")
    checksum = _checksum(request)
    metadata = _metadata(request.headers.get("Upload-Metadata", ""))
    filename = metadata.get("filename") or metadata.get("name") or ""
    b = backends(request)
    creation = ipb.CreateResumableUploadRequest(filename=filename, length=length, created_by_id=user.user_id)
    upload = await b.importer.CreateResumableUpload(creation, timeout=b.deadline_s)
    await record_audit(
        request,
        CREATE_UPLOAD,
        resource="upload",
        resource_id=upload.id,
        details={"filename": filename, "length": length},
    )
    if with_piece:
        upload = await _first_piece(request, upload.id, checksum, user.user_id)
    headers = {"Location": f"{PREFIX}/{upload.id}", "Upload-Offset": str(upload.offset), **_http_date(upload)}
    return web.json_response(upload_json(upload), status=201, headers=headers)


async def _first_piece(
    request: web.Request, upload_id: str, checksum: tuple[str, bytes], user_id: str
) -> ipb.ResumableUpload:
    try:
        return await _send_piece(request, upload_id, 0, checksum, user_id)
    except BaseException:
        b = backends(request)
        forget = ipb.DeleteResumableUploadRequest(id=upload_id, requested_by_id=user_id)
        with contextlib.suppress(grpc.aio.AioRpcError):
            await asyncio.shield(b.importer.DeleteResumableUpload(forget, timeout=b.deadline_s))
        raise


async def _send_piece(
    request: web.Request, upload_id: str, offset: int, checksum: tuple[str, bytes], user_id: str
) -> ipb.ResumableUpload:
    """Stream the request's body to the importer as the upload's bytes from ``offset``."""
    algorithm, digest = checksum
    header = ipb.AppendHeader(
        id=upload_id, offset=offset, checksum_algorithm=algorithm, checksum=digest, requested_by_id=user_id
    )
    b = backends(request)
    call = b.importer.AppendResumableUpload(timeout=APPEND_DEADLINE_S)
    try:
        await call.write(ipb.AppendChunk(header=header))
        async for chunk in _body(request):
            await call.write(chunk)
        await call.done_writing()
    except (asyncio.InvalidStateError, grpc.aio.AioRpcError):
        pass  # the importer answered early (a refusal); ``await call`` raises it
    except BaseException:
        call.cancel()  # the client went away: the importer keeps what arrived (none, with a checksum)
        raise
    return await call


async def _upload(request: web.Request, user_id: str) -> ipb.ResumableUpload:
    b = backends(request)
    get = ipb.GetResumableUploadRequest(id=request.match_info["upload_id"], requested_by_id=user_id)
    return await b.importer.GetResumableUpload(get, timeout=b.deadline_s)


@routes.get(PREFIX, allow_head=False)
async def list_uploads(request: web.Request) -> web.Response:
    """The caller's unfinished uploads (not imported, deleted or expired), newest first: what a
    client that lost its upload URLs can resume or delete."""
    user = require_admin(request)
    b = backends(request)
    listing = ipb.ListResumableUploadsRequest(created_by_id=user.user_id)
    found = await b.importer.ListResumableUploads(listing, timeout=b.deadline_s)
    body = {
        "success": True,
        "uploads": [upload_json(u) for u in found.uploads],
        "count": len(found.uploads),
        "maxOpen": found.max_open,
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@routes.head(PREFIX + "/{upload_id}")
async def upload_offset(request: web.Request) -> web.Response:
    user = require_admin(request)
    _check_version(request)
    upload = await _upload(request, user.user_id)
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
        **_http_date(upload),
    }
    return web.Response(status=200, headers=headers)


@routes.get(PREFIX + "/{upload_id}", allow_head=False)
async def get_upload(request: web.Request) -> web.Response:
    user = require_admin(request)
    upload = await _upload(request, user.user_id)
    return web.json_response(upload_json(upload), headers={"Cache-Control": "no-store"})


async def _body(request: web.Request) -> AsyncIterator[ipb.AppendChunk]:
    async for data in request.content.iter_chunked(CHUNK_BYTES):
        yield ipb.AppendChunk(data=data)


@routes.patch(PREFIX + "/{upload_id}")
async def append(request: web.Request) -> web.Response:
    """tus core: the body's bytes at ``Upload-Offset``; a body cut short keeps what arrived."""
    user = require_admin(request)
    _check_version(request)
    if request.content_type != OFFSET_STREAM:
        raise ApiError(415, f"Send the bytes as {OFFSET_STREAM}")
    offset = _header_integer(request, "Upload-Offset")
    upload_id = request.match_info["upload_id"]
    upload = await _send_piece(request, upload_id, offset, _checksum(request), user.user_id)
    return web.Response(status=204, headers={"Upload-Offset": str(upload.offset), **_http_date(upload)})


@routes.delete(PREFIX + "/{upload_id}")
async def delete_upload(request: web.Request) -> web.Response:
    """tus termination: the upload and its bytes are removed."""
    user = require_admin(request)
    _check_version(request)
    b = backends(request)
    delete = ipb.DeleteResumableUploadRequest(
        id=request.match_info["upload_id"], requested_by_id=user.user_id
    )
    await b.importer.DeleteResumableUpload(delete, timeout=b.deadline_s)
    await record_audit(request, DELETE_UPLOAD, resource="upload", resource_id=delete.id)
    return web.Response(status=204)
