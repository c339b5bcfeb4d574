"""Plain domain operations behind the importer's RPCs: formats, and uploads that become jobs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePath

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors
from cocoa_common import jobtypes as jt
from cocoa_common.address import REJECT_REASONS
from cocoa_common.ids import utcnow
from cocoa_common.models import Parcel, Upload, Voter
from cocoa_importer.formats import FORMATS, FormatError, FormatInfo, UnknownFormat, check_rows, detect_format
from cocoa_importer.parcels import ParcelFormatError, check_parcels, detect_parcel_format
from cocoa_importer.repository import ANY_FLAG, ImportRepository, VoterFilter
from cocoa_importer.resumable import MAX_OPEN_PER_USER, ResumableUploads
from cocoa_importer.storage import StoredFile, UploadStore

IMPORT_TYPES = ("full", "incremental")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
COMPRESSED_SUFFIXES = (".gz", ".zip")  # checked against the name of the file inside
MAX_PAGE = 500
PARCEL_FORMATS = ("geojson", "csv")


@dataclass(frozen=True, slots=True)
class UploadRequest:
    kind: str
    filename: str
    format: str
    import_type: str = "full"
    options: dict[str, object] | None = None
    created_by_id: str = ""
    idempotency_key: str = ""
    expected_sha256: str = ""  # the sender's checksum of the file, when it gives one
    run_at: datetime | None = None  # the job is delayed until then
    expires_at: datetime | None = None  # the job is cancelled if it has not started by then
    depends_on: tuple[str, ...] = ()  # jobs the import job waits for
    priority: int = 0  # the import job's (higher runs first)
    max_attempts: int | None = None  # the import job's own; else the coordinator's
    timeout_seconds: int | None = None
    group: str | None = None  # the import job's group (groups take turns at the queue)
    upload_id: str = ""  # a complete resumable upload to import, instead of bytes streamed with this


@dataclass(frozen=True, slots=True)
class Accepted:
    job_id: str
    format: str
    sha256: str
    size_bytes: int
    created: bool = True


# (the upload's request, the job's data JSON) -> (job id, created)
CreateJob = Callable[["UploadRequest", str], Awaitable[tuple[str, bool]]]
# Options a caller may add to a job's data; everything else in the data is the importer's own.
ALLOWED_OPTIONS = ("mapping", "source", "state")


class ImporterService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: UploadStore,
        create_job: CreateJob,
        max_open_uploads_per_user: int = MAX_OPEN_PER_USER,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.create_job = create_job
        self.resumable = ResumableUploads(sessions, store, max_open_per_user=max_open_uploads_per_user)

    def formats(self) -> list[FormatInfo]:
        return list(FORMATS.values())

    async def list_parcels(
        self, *, search: str, apn: str, zip_code: str, limit: int, offset: int
    ) -> tuple[list[tuple[Parcel, int]], int]:
        limit, offset = errors.page_bounds(limit, offset, MAX_PAGE)
        async with self.sessions() as session:
            return await ImportRepository(session).list_parcels(
                search=search, apn=apn, zip_code=zip_code, limit=limit, offset=offset
            )

    async def list_voters(self, wanted: VoterFilter, limit: int, offset: int) -> tuple[list[Voter], int]:
        limit, offset = errors.page_bounds(limit, offset, MAX_PAGE)
        if wanted.address_flag and wanted.address_flag not in (*REJECT_REASONS, ANY_FLAG):
            raise errors.InvalidArgument(
                f"addressFlag must be one of {', '.join((*REJECT_REASONS, ANY_FLAG))}", field="addressFlag"
            )
        async with self.sessions() as session:
            return await ImportRepository(session).list_voters(wanted, limit, offset)

    def validate(self, request: UploadRequest, content_name: str | None = None) -> None:
        """Everything that can be checked before a byte of the file arrives; with ``content_name``
        (the stored file's own name, a zip member's for instance), what is checked once it is stored."""
        if request.expected_sha256 and not _SHA256.fullmatch(request.expected_sha256):
            raise errors.InvalidArgument("sha256 must be 64 hexadecimal digits", field="sha256")
        jt.check_run_at(request.run_at)
        jt.check_expiry(request.expires_at, request.run_at)
        jt.check_priority(request.priority)
        jt.check_limits(request.max_attempts, request.timeout_seconds)
        jt.group_of(request.group)
        if len(set(request.depends_on)) > jt.MAX_DEPENDENCIES:
            raise errors.InvalidArgument(
                f"dependsOn names at most {jt.MAX_DEPENDENCIES} jobs", field="dependsOn"
            )
        if request.kind == jt.PARCEL_IMPORT:
            if request.format and request.format not in PARCEL_FORMATS:
                raise errors.InvalidArgument(f"Unsupported parcel format: {request.format}", field="format")
            return
        if request.kind != jt.VOTER_IMPORT:
            raise errors.InvalidArgument(f"Unknown upload kind: {request.kind}", field="kind")
        if not request.format:
            raise errors.InvalidArgument("No format specified", field="format")
        info = FORMATS.get(request.format)
        if info is None:
            raise errors.InvalidArgument(f"Unsupported format: {request.format}", field="format")
        if request.import_type not in IMPORT_TYPES:
            raise errors.InvalidArgument(
                'Invalid importType. Must be "full" or "incremental"', field="importType"
            )
        if request.import_type == "incremental" and not info.supports_incremental:
            raise errors.InvalidArgument(
                f'Format "{info.id}" does not support incremental imports', field="importType"
            )
        suffix = PurePath(content_name or request.filename).suffix.lower()
        deferred = content_name is None and suffix in COMPRESSED_SUFFIXES  # the name inside decides
        if info.supported_extensions and suffix not in info.supported_extensions and not deferred:
            expected = ", ".join(info.supported_extensions)
            raise errors.InvalidArgument(
                f'Invalid file extension for format "{info.id}". Expected: {expected}', field="file"
            )
        if request.format == "csv_mapped" and not isinstance((request.options or {}).get("mapping"), dict):
            raise errors.InvalidArgument("csv_mapped needs a column mapping object", field="mapping")

    def check_header(self, request: UploadRequest) -> None:
        """What can be judged of an upload from its first header alone (a voter file's format may
        still come after the file, as a late form field). An import of a resumable upload is judged
        once the upload's name is known, by ``upload``, which then has no bytes to race."""
        if request.upload_id:
            return
        if request.format or request.kind == jt.PARCEL_IMPORT:
            self.validate(request)

    async def upload(
        self,
        request: UploadRequest,
        chunks: AsyncIterator[bytes],
        amend: Callable[[UploadRequest], UploadRequest] | None = None,
    ) -> Accepted:
        """Store the file, then create its job; nothing is left behind when either step fails.

        ``amend`` completes the request with fields that arrived after the file (multipart order).
        A request naming a complete resumable upload (``upload_id``) sends no bytes of its own.
        """
        if request.upload_id:
            return await self._import_resumable(request, chunks, amend)
        self.check_header(request)  # fail before a byte is stored when we can
        stored = await self.store.save(chunks, request.filename)
        return await self._accept(request, stored, amend)

    async def _import_resumable(
        self,
        request: UploadRequest,
        chunks: AsyncIterator[bytes],
        amend: Callable[[UploadRequest], UploadRequest] | None,
    ) -> Accepted:
        async for _ in chunks:  # drains a trailing header too
            raise errors.InvalidArgument(
                "An import of a resumable upload sends no file bytes of its own", field="file"
            )
        replayed = await self.resumable.imported_as(
            request.upload_id, request.idempotency_key, request.created_by_id
        )
        if replayed is not None:  # an Idempotency-Key replay: the first import's job stands
            return Accepted(replayed, "", "", 0, created=False)
        async with self.resumable.taken(request.upload_id, request.created_by_id) as taken:
            request = replace(request, filename=request.filename or taken.filename, upload_id="")
            self.check_header(request)
            # An import refused for its fields keeps the upload: it can be named again, corrected.
            stored = await self.store.adopt(taken.path, request.filename, taken.hashed)
            accepted = await self._accept(request, stored, amend)
            await self.resumable.spend(
                taken.id, accepted.job_id, request.created_by_id, request.idempotency_key
            )
        return accepted

    async def _accept(
        self,
        request: UploadRequest,
        stored: StoredFile,
        amend: Callable[[UploadRequest], UploadRequest] | None,
    ) -> Accepted:
        try:
            request = amend(request) if amend else request
            self.validate(request, content_name=stored.content_name)
            _check_sha256(request.expected_sha256, stored.sha256)
            if stored.size_bytes == 0:
                raise errors.InvalidArgument("The uploaded file is empty", field="file")
            fmt = self._resolve_format(request, stored)
            if request.kind == jt.VOTER_IMPORT:
                await _check_rows(request, stored, fmt)
            else:
                await _check_parcels(request, stored)
            await self._record(request, stored)
            data = self._job_data(request, stored, fmt)
            job_id, created = await self.create_job(request, json.dumps(data))
        except BaseException:
            await self._forget(stored)
            raise
        if not created:  # a replay: the first upload's job and file stand, this copy is not needed
            await self._forget(stored)
        return Accepted(job_id, fmt, stored.sha256, stored.size_bytes, created)

    async def _record(self, request: UploadRequest, stored: StoredFile) -> None:
        async with self.sessions.begin() as session:
            await ImportRepository(session).add_upload(
                Upload(
                    id=stored.upload_id,
                    kind=request.kind,
                    filename=request.filename[:300],
                    path=stored.path,
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                    created_by_id=request.created_by_id or None,
                    created_at=utcnow(),
                )
            )

    async def _forget(self, stored: StoredFile) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stored.path)
        async with self.sessions.begin() as session:
            await ImportRepository(session).delete_upload(stored.upload_id)

    def _resolve_format(self, request: UploadRequest, stored: StoredFile) -> str:
        if request.kind == jt.PARCEL_IMPORT or request.format != "auto":
            return request.format
        try:
            return detect_format(stored.head)
        except UnknownFormat as exc:
            raise errors.InvalidArgument(
                f"Could not detect the file's format: {exc}", field="format"
            ) from None

    @staticmethod
    def _job_data(request: UploadRequest, stored: StoredFile, fmt: str) -> dict[str, object]:
        data: dict[str, object] = {
            "uploadId": stored.upload_id,
            "filename": request.filename,
            "format": fmt,
            "requestedFormat": request.format,
            "sizeBytes": stored.size_bytes,
            "sha256": stored.sha256,
        }
        if stored.compression:
            data |= {
                "compression": stored.compression,
                "uploadedBytes": stored.uploaded_bytes,
                "contentFilename": stored.content_name,
            }
        if request.kind == jt.VOTER_IMPORT:
            data["importType"] = request.import_type
        options = request.options or {}
        return {**{k: options[k] for k in ALLOWED_OPTIONS if k in options}, **data}


async def _check_rows(request: UploadRequest, stored: StoredFile, fmt: str) -> None:
    """A 400 now for a file that does not read as its format (its header does not fit, or nearly
    all of its first rows fail), rather than a job that fails or logs every row."""
    mapping = (request.options or {}).get("mapping") if fmt == "csv_mapped" else None
    try:
        await asyncio.to_thread(check_rows, stored.path, fmt, mapping if isinstance(mapping, dict) else None)
    except FormatError as exc:
        raise errors.InvalidArgument(f"Cannot read the file as {fmt}: {exc}", field="format") from None


async def _check_parcels(request: UploadRequest, stored: StoredFile) -> None:
    """A 400 now for a parcel file that cannot be read (not GeoJSON or CSV, no APN column ...) or
    whose first parcels nearly all fail, rather than a job that fails or logs every parcel."""
    state = str((request.options or {}).get("state") or "")
    try:
        fmt = request.format or detect_parcel_format(stored.head, stored.content_name or request.filename)
        await asyncio.to_thread(check_parcels, stored.path, fmt, default_state=state)
    except ParcelFormatError as exc:
        raise errors.InvalidArgument(f"Cannot read the file as parcels: {exc}", field="file") from None


def _check_sha256(expected: str, actual: str) -> None:
    if expected and expected.lower() != actual:
        raise errors.InvalidArgument(
            f"The file received has sha256 {actual}, not the {expected.lower()} expected:"
            " it changed on the way; send it again",
            field="sha256",
        )
