"""A job's item-error ledger over HTTP: cursor pages as JSON, or the whole ledger as CSV."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

import grpc
from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common import jobtypes as jt
from cocoa_gateway import params, views
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import abort_stream, bad_request

logger = logging.getLogger(__name__)

DEFAULT_PAGE = 100
MAX_PAGE = 1000
CSV_PAGE = 1000
# A bound on the CSV loop: a million pages of 1,000 is far beyond any job's 100,000-item cap.
MAX_CSV_PAGES = 1_000_000
GEOCODING_COLUMNS = ("seq", "itemRef", "code", "householdId", "address", "error", "timestamp")
IMPORT_COLUMNS = ("seq", "itemRef", "code", "row", "field", "error", "timestamp")


def wants_csv(request: web.Request) -> bool:
    """``?format=csv`` or ``Accept: text/csv``."""
    fmt = (params.text(request.query, "format") or "").lower()
    if fmt and fmt not in ("csv", "json"):
        raise bad_request("format must be json or csv", "format")
    return fmt == "csv" or (not fmt and "text/csv" in request.headers.get("Accept", ""))


def _cursor(request: web.Request) -> int:
    raw = params.text(request.query, "cursor")
    if raw is None:
        return 0
    if not (raw.isascii() and raw.isdigit()) or int(raw) > params.INT64_MAX:
        raise bad_request("cursor must be a value returned as nextCursor", "cursor")
    return int(raw)


async def _fetch(request: web.Request, job_id: str, after_seq: int, limit: int) -> cpb.ListItemErrorsResponse:
    b = backends(request)
    list_request = cpb.ListItemErrorsRequest(job_id=job_id, limit=limit, after_seq=after_seq)
    return await b.coordinator.ListItemErrors(list_request, timeout=b.deadline_s)


async def page(request: web.Request, job: cpb.Job) -> dict[str, Any]:
    """One page: ``{"success", "errors", "total", "limit", "nextCursor"}`` (nextCursor null at the end)."""
    limit = params.integer(request.query, "limit", default=DEFAULT_PAGE, minimum=1, maximum=MAX_PAGE)
    response = await _fetch(request, job.id, _cursor(request), limit)
    return {
        "success": True,
        "jobId": job.id,
        "errors": [views.ledger_entry(e, job.type) for e in response.errors],
        "total": response.total,
        "limit": limit,
        "nextCursor": str(response.next_after_seq) if response.next_after_seq else None,
    }


def _columns(job_type: str) -> tuple[str, ...]:
    return GEOCODING_COLUMNS if jt.canonical(job_type) == jt.GEOCODING else IMPORT_COLUMNS


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # Spreadsheets run cells starting with these as formulas; voter data must not become code.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_rows(rows: list[dict[str, Any]], columns: tuple[str, ...], header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    if header:
        writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue().encode()


async def stream_csv(request: web.Request, job: cpb.Job) -> web.StreamResponse:
    """Every item error of the job, paging through the RPC, written as it arrives."""
    first = await _fetch(request, job.id, 0, CSV_PAGE)  # fetched before the headers, so failures are JSON
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="job-{job.id}-errors.csv"',
        }
    )
    await response.prepare(request)
    try:
        await _write_pages(request, response, job, first)
    except grpc.aio.AioRpcError as exc:
        logger.warning("CSV of job %s cut short: %s %s", job.id, exc.code(), exc.details())
        abort_stream(request)
        return response
    await response.write_eof()
    return response


async def _write_pages(
    request: web.Request, response: web.StreamResponse, job: cpb.Job, first: cpb.ListItemErrorsResponse
) -> None:
    columns = _columns(job.type)
    batch, header = first, True
    for _ in range(MAX_CSV_PAGES):
        rows = [views.ledger_entry(e, job.type) for e in batch.errors]
        await response.write(_csv_rows(rows, columns, header))
        header = False
        if not batch.next_after_seq:
            return
        batch = await _fetch(request, job.id, batch.next_after_seq, CSV_PAGE)
