"""Imports: voter and parcel files streamed to the importer, which stores them and queues their
jobs; and the parcel listing.

A file is never held whole here: each chunk read from the client is written to the importer's
``Upload`` stream. Form fields that follow the file in the multipart body travel as a second header.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa.importer.v1 import importer_pb2 as ipb
from cocoa_common import jobtypes as jt
from cocoa_common import jsontext
from cocoa_gateway import audit, params, views
from cocoa_gateway.auth import current_user, require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import bad_request
from cocoa_gateway.handlers.geocoding import clean_filters
from cocoa_gateway.keys import SETTINGS
from cocoa_gateway.uploads import NO_FILE, UPLOAD_ID, URLENCODED, Upload, open_upload, read_body

routes = web.RouteTableDef()

# The client's whole upload streams through one Upload call, so its deadline is sized for a file of
# the configured limit (5 GiB by default) sent by a slow client (~250 KB/s), not for a look-up.
UPLOAD_DEADLINE_S = 6 * 3600.0
# The earlier JSON body form of the parcel import is parsed whole, so it has its own cap: above the
# app's 1 MiB JSON limit, with room for the 10,000-parcel bodies the earlier synchronous route took.
PARCEL_JSON_MAX_BYTES = 32 * 1024**2
PARCEL_FORMATS = ("geojson", "csv")
MAX_PARCELS_PAGE = 500
UNSUPPORTED_FORMAT = "Unsupported format: "
UNSUPPORTED_PARCEL_FORMAT = "Unsupported parcel format: "

TrailingHeader = Callable[[Mapping[str, str]], ipb.UploadHeader | None]


@dataclass(frozen=True, slots=True)
class Queued:
    """An accepted upload: the job, and whether this request created it (False on a replay)."""

    job_id: str
    format: str
    sha256: str
    size_bytes: int
    created: bool
    data: dict[str, Any]  # the job's data on a replay, else empty


# ---- streaming to the importer ------------------------------------------------------------------


async def _stream(
    call: grpc.aio.StreamUnaryCall, header: ipb.UploadHeader, upload: Upload, trailing: TrailingHeader
) -> ipb.UploadResponse:
    """Header, the file's chunks, then the fields that came after the file; then the answer."""
    try:
        await call.write(ipb.UploadChunk(header=header))
        async for data in upload.chunks:
            await call.write(ipb.UploadChunk(data=data))
        if (late := trailing(upload.trailing)) is not None:
            await call.write(ipb.UploadChunk(header=late))
        await call.done_writing()
    except (asyncio.InvalidStateError, grpc.aio.AioRpcError):
        # The importer answered early (a refusal). A write that races its answer fails as INTERNAL;
        # ``await call`` below raises the importer's real status.
        pass
    except BaseException:
        call.cancel()  # the importer then removes what it stored of the file
        raise
    return await call


async def _queue(
    request: web.Request, header: ipb.UploadHeader, upload: Upload, trailing: TrailingHeader
) -> Queued:
    b = backends(request)
    try:
        # Asked first: a refusal that arrives while the file still streams can surface as INTERNAL.
        await b.importer.CheckUpload(header, timeout=b.deadline_s)
        response = await _stream(b.importer.Upload(timeout=UPLOAD_DEADLINE_S), header, upload, trailing)
    except grpc.aio.AioRpcError as exc:
        raise await _with_supported_formats(request, exc) from None
    if response.created:
        return Queued(response.job_id, response.format, response.sha256, response.size_bytes, True, {})
    # An Idempotency-Key replay: answer with the first upload's job as it was created.
    job = await b.coordinator.GetJob(cpb.GetJobRequest(id=response.job_id), timeout=b.deadline_s)
    data = views.json_object_or_empty(job.data_json)
    return Queued(
        job.id,
        str(data.get("format") or ""),
        str(data.get("sha256") or ""),
        int(data.get("sizeBytes") or 0),
        False,
        data,
    )


async def _with_supported_formats(request: web.Request, exc: grpc.aio.AioRpcError) -> Exception:
    """The contract's ``Unsupported format`` 400 lists the supported ones; other errors pass as is."""
    details = exc.details() or ""
    if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return exc
    if details.startswith(UNSUPPORTED_FORMAT):
        supported = [f.id for f in await _formats(request)]
        return bad_request(details, "format", supportedFormats=supported)
    if details.startswith(UNSUPPORTED_PARCEL_FORMAT):
        return bad_request(details, "format", supportedFormats=list(PARCEL_FORMATS))
    return exc


async def _formats(request: web.Request) -> list[ipb.VoterFormat]:
    b = backends(request)
    return list((await b.importer.ListFormats(ipb.ListFormatsRequest(), timeout=b.deadline_s)).formats)


def _options_json(options: Mapping[str, Any]) -> str:
    return json.dumps(dict(options), separators=(",", ":")) if options else ""


def _max_bytes(request: web.Request) -> int:
    return request.app[SETTINGS].upload_max_bytes


# ---- voter files --------------------------------------------------------------------------------


@routes.get("/api/v1/voters/import")
async def list_voter_formats(request: web.Request) -> web.Response:
    current_user(request)
    formats = [views.voter_format_json(f) for f in await _formats(request)]
    return web.json_response({"success": True, "formats": formats, "count": len(formats)})


def _mapping(raw: str | None) -> dict[str, Any]:
    """``{"mapping": {...}}`` from the form's ``mapping`` text, or nothing without one."""
    if raw is None or not raw.strip():
        return {}
    try:
        mapping = jsontext.loads(raw)
    except json.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict):
        raise bad_request("mapping must be a JSON object", "mapping")
    return {"mapping": mapping}


def _depends_on(fields: Mapping[str, str]) -> list[str]:
    """The ``dependsOn`` form field or query parameter: job ids, comma-separated or repeated."""
    return params.ids(params.listed(fields, "dependsOn"), "dependsOn")


# Form fields (or query parameters) that set the import job's priority, limits and group.
JOB_OPTION_FIELDS = ("priority", "maxAttempts", "timeoutSeconds", "group")


def _job_options(fields: Mapping[str, str]) -> dict[str, int | str]:
    """The ``priority``, ``maxAttempts``, ``timeoutSeconds`` and ``group`` form fields or query
    parameters, as UploadHeader arguments, for those given."""
    options: dict[str, int | str] = dict(params.field_limits(fields))
    if params.text(fields, "priority"):
        options["priority"] = params.field_priority(fields)
    if group := params.field_group(fields):
        options["group"] = group
    return options


def _voter_trailing() -> TrailingHeader:
    def header(late: Mapping[str, str]) -> ipb.UploadHeader | None:
        late_names = (
            "format",
            "importType",
            "mapping",
            "sha256",
            "runAt",
            "expiresAt",
            "dependsOn",
            *JOB_OPTION_FIELDS,
        )
        if not any(late.get(name) for name in late_names):
            return None
        options = _mapping(late.get("mapping"))
        return ipb.UploadHeader(
            format=late.get("format", ""),
            import_type=late.get("importType", ""),
            options_json=_options_json(options),
            sha256=late.get("sha256", ""),
            run_at=params.field_time(late, "runAt"),
            expires_at=params.field_time(late, "expiresAt"),
            depends_on=_depends_on(late),
            **_job_options(late),
        )

    return header


@routes.post("/api/v1/voters/import")
async def import_voters(request: web.Request) -> web.Response:
    """Multipart ``file``, ``format``, ``importType`` and (csv_mapped) ``mapping``; 202 with the job."""
    user = require_admin(request)
    key = params.idempotency_key(request)
    if request.content_type not in ("multipart/form-data", URLENCODED):
        raise bad_request(NO_FILE, "file")
    upload = await open_upload(request, max_bytes=_max_bytes(request))
    header = ipb.UploadHeader(
        kind=jt.VOTER_IMPORT,
        upload_id=upload.fields.get(UPLOAD_ID, ""),
        filename=upload.filename or upload.fields.get("filename", ""),
        format=upload.fields.get("format", ""),
        import_type=upload.fields.get("importType", ""),
        options_json=_options_json(_mapping(upload.fields.get("mapping"))),
        created_by_id=user.user_id,
        idempotency_key=key,
        sha256=upload.fields.get("sha256", ""),
        run_at=params.field_time(upload.fields, "runAt"),
        expires_at=params.field_time(upload.fields, "expiresAt"),
        depends_on=_depends_on(upload.fields),
        **_job_options(upload.fields),
    )
    queued = await _queue(request, header, upload, _voter_trailing())
    import_type = str(queued.data.get("importType") or upload.get("importType") or "full")
    if queued.created:
        details = {
            "format": queued.format,
            "importType": import_type,
            "filename": header.filename or None,
            "sizeBytes": queued.size_bytes,
            "sha256": queued.sha256,
            **({"uploadId": header.upload_id} if header.upload_id else {}),
        }
        await audit.record_audit(
            request, audit.VOTER_IMPORT_QUEUED, resource="job", resource_id=queued.job_id, details=details
        )
    names = {f.id: f.name for f in await _formats(request)}
    body = {
        "success": True,
        "jobId": queued.job_id,
        "message": f"Import job created. Watch job {queued.job_id} for progress.",
        "format": names.get(queued.format, queued.format),
        "formatId": queued.format,
        "importType": import_type,
        "sha256": queued.sha256,
        "sizeBytes": queued.size_bytes,
    }
    # Like POST /jobs: a replayed Idempotency-Key answers 200 with the first job.
    return web.json_response(body, status=202 if queued.created else 200)


# ---- parcel files -------------------------------------------------------------------------------


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _json_body_file(body: Mapping[str, Any]) -> Upload:
    """The earlier ``{"data": <GeoJSON object | CSV text>, "format"?}`` body as an upload."""
    data = body.get("data")
    fmt = (params.json_text(body, "format") or "").lower()
    if data is None:
        raise bad_request("Missing data field", "data")
    if isinstance(data, str):
        payload, fmt = data.encode("utf-8", "surrogatepass"), fmt or "csv"
    elif isinstance(data, dict | list):
        if fmt not in ("", "geojson"):
            raise bad_request(f'Format "{fmt}" needs text data, not a JSON object', "format")
        payload, fmt = json.dumps(data, separators=(",", ":")).encode(), "geojson"
    else:
        raise bad_request("data must be a GeoJSON object or CSV text", "data")
    fields = {"format": fmt}
    if source := params.json_text(body, "source"):
        fields["source"] = source
    if expires_at := params.json_text(body, "expiresAt"):
        fields["expiresAt"] = expires_at  # checked with the form fields
    if depends_on := params.json_ids(body, "dependsOn"):
        fields["dependsOn"] = ",".join(depends_on)
    if body.get("priority") is not None:
        fields["priority"] = str(params.json_priority(body))
    limits = params.json_limits(body)
    for name, field in (("maxAttempts", "max_attempts"), ("timeoutSeconds", "timeout_seconds")):
        if field in limits:
            fields[name] = str(limits[field])
    if group := params.json_group(body):
        fields["group"] = group
    return Upload(f"body.{fmt}", _one_chunk(payload), fields)


def _parse_json_body(raw: bytes) -> Upload:
    return _json_body_file(params.parse_json_object(raw))


async def _parcel_upload(request: web.Request) -> Upload:
    if request.content_type == "application/json":
        raw = await read_body(request, max_bytes=PARCEL_JSON_MAX_BYTES)
        return await asyncio.to_thread(_parse_json_body, raw)  # tens of MB: keep the loop free
    return await open_upload(request, max_bytes=_max_bytes(request))


def _source_options(source: str | None) -> dict[str, Any]:
    return {"source": source} if source else {}


def _parcel_trailing() -> TrailingHeader:
    def header(late: Mapping[str, str]) -> ipb.UploadHeader | None:
        late_names = ("format", "source", "sha256", "runAt", "expiresAt", "dependsOn", *JOB_OPTION_FIELDS)
        if not any(late.get(name) for name in late_names):
            return None
        options = _source_options(late.get("source"))
        return ipb.UploadHeader(
            format=late.get("format", "").lower(),
            options_json=_options_json(options),
            sha256=late.get("sha256", ""),
            run_at=params.field_time(late, "runAt"),
            expires_at=params.field_time(late, "expiresAt"),
            depends_on=_depends_on(late),
            **_job_options(late),
        )

    return header


@routes.post("/api/v1/gis/parcels/import")
async def import_parcels(request: web.Request) -> web.Response:
    """Multipart ``file`` (+ ``format``, ``source``) or the earlier JSON body; 202 with the job."""
    user = require_admin(request)
    key = params.idempotency_key(request)
    upload = await _parcel_upload(request)
    query = request.query
    fmt = upload.fields.get("format") or params.text(query, "format") or ""
    source = upload.fields.get("source") or params.text(query, "source")
    upload_id = upload.fields.get(UPLOAD_ID, "")
    header = ipb.UploadHeader(
        kind=jt.PARCEL_IMPORT,
        upload_id=upload_id,
        # A raw body has no name; the importer detects GeoJSON or CSV from its first bytes. A
        # resumable upload has the name it was created with.
        filename=upload.filename
        or upload.fields.get("filename")
        or ("" if upload_id else f"body.{fmt or 'txt'}"),
        format=fmt.lower(),
        options_json=_options_json(_source_options(source)),
        created_by_id=user.user_id,
        idempotency_key=key,
        sha256=upload.fields.get("sha256", ""),
        run_at=params.field_time(upload.fields, "runAt") or params.field_time(request.query, "runAt"),
        expires_at=params.field_time(upload.fields, "expiresAt")
        or params.field_time(request.query, "expiresAt"),
        depends_on=_depends_on(upload.fields) or _depends_on(request.query),
        **{**_job_options(request.query), **_job_options(upload.fields)},
    )
    queued = await _queue(request, header, upload, _parcel_trailing())
    if queued.created:
        details = {
            "format": queued.format or None,
            "filename": header.filename or None,
            "source": upload.get("source") or source,
            "sizeBytes": queued.size_bytes,
            "sha256": queued.sha256,
            **({"uploadId": header.upload_id} if header.upload_id else {}),
        }
        await audit.record_audit(
            request, audit.PARCEL_IMPORT, resource="job", resource_id=queued.job_id, details=details
        )
    body = {
        "success": True,
        "jobId": queued.job_id,
        "message": f"Parcel import job created. Watch job {queued.job_id} for progress.",
        "format": queued.format or None,  # empty: the job detects it from the file
        "sha256": queued.sha256,
        "sizeBytes": queued.size_bytes,
    }
    return web.json_response(body, status=202 if queued.created else 200)


@routes.get("/api/v1/gis/parcels")
async def list_parcels(request: web.Request) -> web.Response:
    current_user(request)
    query = request.query
    limit = params.integer(query, "limit", default=50, minimum=1, maximum=MAX_PARCELS_PAGE)
    offset = params.integer(query, "offset", default=0, minimum=0, maximum=params.INT32_MAX)
    zip_filter = {"zipCode": params.no_nul(query["zipCode"], "zipCode")} if "zipCode" in query else {}
    listing = ipb.ListParcelsRequest(
        search=params.text(query, "search") or "",
        apn=params.text(query, "apn") or "",
        zip_code=clean_filters(zip_filter, required=False).get("zipCode", ""),
        limit=limit,
        offset=offset,
    )
    b = backends(request)
    response = await b.importer.ListParcels(listing, timeout=b.deadline_s)
    parcels = [views.parcel_json(p) for p in response.parcels]
    return web.json_response(
        {
            "parcels": parcels,
            "total": response.total,
            "pagination": views.pagination(limit, offset, len(parcels), response.total),
        }
    )
