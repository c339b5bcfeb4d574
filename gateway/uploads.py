"""Streaming request uploads: a multipart ``file`` part or a raw body, read in chunks, never whole.

Usage (form fields must precede the file part, as browsers send them in form order)::

    upload = await open_upload(request, max_bytes=2 * 1024**3)
    async for chunk in upload.chunks:   # ApiError 413 once max_bytes is passed
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from cocoa_gateway.errors import ApiError, bad_request

CHUNK_BYTES = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20
RAW_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/octet-stream"})


@dataclass
class Upload:
    """The uploaded file's name (None for a raw body), the form fields before it, its bytes."""

    filename: str | None
    chunks: AsyncIterator[bytes]
    fields: dict[str, str] = field(default_factory=dict)


def too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"Upload too large (limit {max_bytes} bytes)")


async def open_upload(request: web.Request, *, max_bytes: int, file_field: str = "file") -> Upload:
    """Find the file in ``request`` without reading it; 400 when there is none."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    if request.content_type == "multipart/form-data":
        return await _multipart(request, max_bytes, file_field)
    if request.content_type in RAW_TYPES:
        return Upload(None, _limited(request.content.iter_chunked(CHUNK_BYTES), max_bytes))
    raise bad_request(f"Send a multipart form with a {file_field} field, or a text/csv body", file_field)


async def _multipart(request: web.Request, max_bytes: int, file_field: str) -> Upload:
    reader = await request.multipart()
    fields: dict[str, str] = {}
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue  # a nested multipart is not a form field
        if part.name == file_field:
            return Upload(part.filename, _limited(_part_chunks(part), max_bytes), fields)
        value = await part.read(decode=True)
        if len(value) > MAX_FIELD_BYTES:
            raise bad_request(f"Form field {part.name} is too long", part.name)
        fields[part.name or ""] = value.decode(errors="replace")
    raise bad_request("No file provided", file_field)


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK_BYTES):
        yield chunk


async def _limited(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > max_bytes:
            raise too_large(max_bytes)
        yield chunk
