"""Streaming request uploads: a multipart ``file`` part or a raw body, read in chunks, never whole.

Usage::

    upload = await open_upload(request, max_bytes=2 * 1024**3)
    async for chunk in upload.chunks:   # ApiError 413 once max_bytes is passed
        ...
    upload.trailing                     # form fields that followed the file, read after its bytes

A form without a file may name a complete resumable upload in ``uploadId``: its ``chunks`` are
empty and the importer reads the upload's stored bytes. Form fields before the file part are in
``upload.fields`` at once. Fields after it can only be read
once the file has been consumed, so they land in ``upload.trailing`` when ``chunks`` is exhausted.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, MultipartReader, web

from cocoa_gateway.errors import ApiError, bad_request

CHUNK_BYTES = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20
URLENCODED = "application/x-www-form-urlencoded"
RAW_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/octet-stream"})
NO_FILE = "No file provided"
# A form may name a complete resumable upload (/api/v1/uploads) instead of carrying the file.
UPLOAD_ID = "uploadId"
BOTH = f"Send a file or name an {UPLOAD_ID}, not both"


@dataclass
class Upload:
    """The uploaded file's name (None for a raw body), the form fields around it, its bytes."""

    filename: str | None
    chunks: AsyncIterator[bytes]
    fields: dict[str, str] = field(default_factory=dict)
    # Filled in once ``chunks`` is exhausted: fields sent after the file part.
    trailing: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """A field's value wherever it came; a later non-empty value wins, as the importer merges."""
        return self.trailing.get(name) or self.fields.get(name)


def too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"Upload too large (limit {max_bytes} bytes)")


async def open_upload(request: web.Request, *, max_bytes: int, file_field: str = "file") -> Upload:
    """Find the file in ``request`` without reading it; 400 when there is none."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    if request.content_type == "multipart/form-data":
        return await _multipart(request, max_bytes, file_field)
    if request.content_type == URLENCODED:
        return await _file_named_by_form(request, file_field)
    if request.content_type in RAW_TYPES:
        return Upload(None, _limited(request.content.iter_chunked(CHUNK_BYTES), max_bytes))
    raise bad_request(f"Send a multipart form with a {file_field} field, or a text/csv body", file_field)


async def read_body(request: web.Request, *, max_bytes: int) -> bytes:
    """The whole body, for routes whose JSON may exceed the app's JSON limit; 413 past ``max_bytes``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    body = bytearray()
    async for chunk in _limited(request.content.iter_chunked(CHUNK_BYTES), max_bytes):
        body += chunk
    return bytes(body)


async def _multipart(request: web.Request, max_bytes: int, file_field: str) -> Upload:
    reader = await request.multipart()
    fields: dict[str, str] = {}
    for parts_seen in range(1, MAX_PARTS + 1):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue  # a nested multipart is not a form field
        if part.name == file_field:
            if UPLOAD_ID in fields:
                raise bad_request(BOTH, UPLOAD_ID)
            trailing: dict[str, str] = {}
            chunks = _file_then_trailing(reader, part, trailing, max_bytes, MAX_PARTS - parts_seen)
            return Upload(part.filename, chunks, fields, trailing)
        fields[part.name or ""] = await _field_value(part)
    if fields.get(UPLOAD_ID):
        return Upload(None, _no_bytes(), fields)
    raise bad_request(NO_FILE, file_field)


async def _file_named_by_form(request: web.Request, file_field: str) -> Upload:
    """A form without a file part (browsers and HTTP clients send it urlencoded): it must name an
    ``uploadId``. Its text must be UTF-8, percent-escapes included."""
    raw = await read_body(request, max_bytes=MAX_FIELD_BYTES)
    try:
        fields = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise bad_request("The form must be UTF-8 text") from None
    if not fields.get(UPLOAD_ID):
        raise bad_request(NO_FILE, file_field)
    return Upload(None, _no_bytes(), fields)


async def _file_then_trailing(
    reader: MultipartReader, part: BodyPartReader, trailing: dict[str, str], max_bytes: int, parts_left: int
) -> AsyncIterator[bytes]:
    """The file's bytes; then the parts after it, read into ``trailing``."""
    async for chunk in _limited(_part_chunks(part), max_bytes):
        yield chunk
    for _ in range(parts_left):
        after = await reader.next()
        if after is None:
            return
        if not isinstance(after, BodyPartReader):
            continue
        if after.name == part.name:
            raise bad_request("Send one file per upload", part.name)
        if after.name == UPLOAD_ID:
            raise bad_request(BOTH, UPLOAD_ID)
        trailing[after.name or ""] = await _field_value(after)
    raise bad_request(f"At most {MAX_PARTS} form parts are accepted")


async def _field_value(part: BodyPartReader) -> str:
    """A form field's text, read in bounded chunks so an oversized one is refused, not buffered;
    bytes that are not UTF-8 are refused rather than silently replaced."""
    value = bytearray()
    while chunk := await part.read_chunk(CHUNK_BYTES):
        value += chunk
        if len(value) > MAX_FIELD_BYTES:
            raise bad_request(f"Form field {part.name} is too long", part.name)
    try:
        return part.decode(bytes(value)).decode()
    except UnicodeDecodeError:
        raise bad_request(f"Form field {part.name} must be UTF-8 text", part.name) from None


async def _no_bytes() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


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
