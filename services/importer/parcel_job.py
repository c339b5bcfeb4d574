"""The ``parcel_import`` job: a parcel file upserted by (source, APN), then linked to households.

Households are linked by normalized address without unit, blocked by ZIP (an indexed join, never every
parcel against every household). A checkpoint is the last item handled, saved after each batch.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.worker import ItemError, JobContext, JobFailed
from cocoa_importer.parcels import (
    ParcelError,
    ParcelFormatError,
    ParcelRecord,
    check_parcels,
    detect_parcel_format,
    read_parcels,
)
from cocoa_importer.repository import Duplicate, ImportRepository, parcel_copy_payload
from cocoa_importer.storage import NotAnUpload, UploadStore
from cocoa_importer.tasks import settle

BATCH_ITEMS = 2000
BATCH_SECONDS = 0.5


def _with_first_items(repeated: list[Duplicate], stored: list[Duplicate]) -> list[Duplicate]:
    """All duplicates of a batch; a repeat within the batch of a stored APN names the stored item."""
    first_stored = {d.apn: d.first_item for d in stored}
    return [*stored, *(Duplicate(d.item, d.apn, first_stored.get(d.apn, d.first_item)) for d in repeated)]


SITUS_NOT_NORMALIZED = "situs_not_normalized"


def _duplicate_error(duplicate: Duplicate) -> ItemError:
    reason = f"duplicate APN {duplicate.apn!r} in this file; first seen at item {duplicate.first_item}"
    detail = {"row": duplicate.item, "field": "apn"}
    return ItemError(f"item:{duplicate.item}", "bad_parcel", reason, detail)


def situs_notes(records: list[ParcelRecord]) -> list[ItemError]:
    """Ledger entries for parcels stored whose situs failed to normalize, so no household links to
    them (not failures: the parcel is imported). A parcel without a situs, a vacant lot, is not one."""
    return [
        ItemError(
            f"item:{r.item}",
            SITUS_NOT_NORMALIZED,
            r.address_issue,
            {"row": r.item, "field": "situs", "raw": r.full_address[:200]},
        )
        for r in records
        if r.address_issue and not r.address_issue.startswith("empty")
    ]


def _item_of(error: ItemError) -> int:
    return int(error.detail["row"])


def parcel_values(record: ParcelRecord, source: str, job_id: str) -> dict[str, Any]:
    return {
        "source": source[:120],
        "apn": record.apn[:64],
        "house_number": record.house_number[:20],
        "predir": record.predir[:4],
        "street_name": record.street_name[:120],
        "suffix": record.suffix[:12],
        "postdir": record.postdir[:4],
        "unit": record.unit[:40],
        "full_address": record.full_address[:300],
        "city": record.city[:80],
        "state": record.state[:2],
        "zip_code": record.zip_code[:5],
        "location_key": record.location_key[:300],
        "owner_name": record.owner_name[:200],
        "land_use": record.land_use[:80],
        "units": record.units,
        "centroid_latitude": record.centroid_latitude,
        "centroid_longitude": record.centroid_longitude,
        "geometry": record.geometry_json,
        "properties": json.dumps(record.properties, separators=(",", ":")),
        "import_job_id": job_id,
        "import_item": record.item,
    }


class Progress:
    """How far through the file a batch ends, and the item count that suggests."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream = stream
        self.size = size

    def position(self) -> int:
        """Read by the thread that reads the stream, right after it has read a batch."""
        return min(self.stream.tell(), self.size)

    def bytes(self, position: int, done: bool) -> dict[str, int]:
        return {"bytesRead": self.size if done else position, "bytesTotal": self.size}

    def total(self, handled: int, position: int, done: bool) -> int:
        """Items in the file: exact once done, else estimated from the share of bytes read."""
        if done:
            return handled
        return max(handled, round(handled * self.size / max(position, 1)))


@dataclass
class ParcelBatch:
    """Items read and staged, ready to upsert."""

    records: list[ParcelRecord]
    errors: list[ItemError]
    last_item: int
    done: bool
    position: int  # bytes read when the batch ended
    values: list[dict[str, Any]]
    copy: bytes
    repeated: list[Duplicate]


def _check(path: str, fmt: str, state: str) -> None:
    try:
        check_parcels(path, fmt, default_state=state)
    except ParcelFormatError as exc:
        raise JobFailed(f"cannot read the parcel file: {exc}") from None


class ParcelImportJob:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], store: UploadStore, batch_items: int = BATCH_ITEMS
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.batch_items = batch_items

    async def __call__(self, ctx: JobContext) -> None:
        try:
            path = str(self.store.find(ctx.data.get("uploadId")))
        except NotAnUpload as exc:
            raise JobFailed(str(exc)) from None
        source = str(ctx.data.get("source") or ctx.data.get("filename") or "parcels")[:120]
        checkpoint = ctx.checkpoint or {}
        stats: dict[str, Any] = dict(ctx.stats) or {"parcelsCreated": 0, "parcelsUpdated": 0}
        size = os.path.getsize(path)
        with open(path, "rb") as stream:
            fmt = str(ctx.data.get("format") or "") or self._detect(stream, path)
            if "item" not in checkpoint:  # a fresh start: refuse a file that is not parcels before writing
                await asyncio.to_thread(_check, path, fmt, str(ctx.data.get("state", "")))
            try:
                items = read_parcels(
                    fmt,
                    stream,
                    default_state=str(ctx.data.get("state", "")),
                    start_item=int(checkpoint.get("item", 0)),
                )
                await self._load(ctx, items, source, stats, Progress(stream, size), fmt)
            except ParcelFormatError as exc:
                raise JobFailed(f"cannot read the parcel file: {exc}") from None
        async with self.sessions.begin() as session:
            linked, unmatched = await ImportRepository(session).link_parcels(source, ctx.job_id)
        stats.update(
            householdsLinked=linked, parcelsUnmatched=unmatched, format=fmt, bytesRead=size, bytesTotal=size
        )
        ctx.total_items = ctx.processed + ctx.failed
        ctx.stats = stats

    @staticmethod
    def _detect(stream: Any, path: str) -> str:
        head = stream.read(64 * 1024)
        stream.seek(0)
        try:
            return detect_parcel_format(head, path)
        except ParcelFormatError as exc:
            raise JobFailed(str(exc)) from None

    async def _load(
        self,
        ctx: JobContext,
        items: Iterator[ParcelRecord | ParcelError],
        source: str,
        stats: dict[str, Any],
        progress: Progress,
        fmt: str,
    ) -> None:
        def read_ahead(last_item: int) -> asyncio.Future[ParcelBatch]:
            return asyncio.ensure_future(
                asyncio.to_thread(self._next, items, last_item, source, ctx.job_id, progress)
            )

        upcoming: asyncio.Future[ParcelBatch] | None = read_ahead(0)
        try:
            while upcoming is not None:
                batch = await upcoming
                upcoming = (
                    None if batch.done else read_ahead(batch.last_item)
                )  # read while this one is written
                if batch.records or batch.errors:
                    await self._write(ctx, batch, stats, progress, fmt)
        finally:
            await settle(upcoming)

    def _next(
        self,
        items: Iterator[ParcelRecord | ParcelError],
        last_item: int,
        source: str,
        job_id: str,
        progress: Progress,
    ) -> ParcelBatch:
        records, errors, last_item, done = self._collect(items, last_item)
        position = progress.position()
        values, copy, repeated = self._stage(records, source, job_id)
        return ParcelBatch(records, errors, last_item, done, position, values, copy, repeated)

    async def _write(
        self, ctx: JobContext, batch: ParcelBatch, stats: dict[str, Any], progress: Progress, fmt: str
    ) -> None:
        async with self.sessions.begin() as session:
            counts = await ImportRepository(session).upsert_parcels(batch.values, batch.copy)
        stats["parcelsCreated"] = stats.get("parcelsCreated", 0) + counts.created
        stats["parcelsUpdated"] = stats.get("parcelsUpdated", 0) + counts.updated
        duplicates = _with_first_items(batch.repeated, counts.duplicates)
        errors = [*batch.errors, *map(_duplicate_error, duplicates)]
        processed = ctx.processed + len(batch.records) - len(duplicates)
        failed = ctx.failed + len(errors)
        await ctx.report(
            processed=processed,
            failed=failed,
            total=progress.total(processed + failed, batch.position, batch.done),
            errors=sorted([*errors, *situs_notes(batch.records)], key=_item_of),
            stats={**stats, "format": fmt, **progress.bytes(batch.position, batch.done)},
            checkpoint={"item": batch.last_item, "processed": processed, "failed": failed, "stats": stats},
        )

    def _stage(
        self, records: list[ParcelRecord], source: str, job_id: str
    ) -> tuple[list[dict[str, Any]], bytes, list[Duplicate]]:
        """Rows to upsert, their COPY text, and the records whose APN an earlier record of the batch has."""
        first_in_batch: dict[str, int] = {}
        values, repeated = [], []
        for record in records:
            row = parcel_values(record, source, job_id)
            first = first_in_batch.setdefault(row["apn"], record.item)
            if first == record.item:
                values.append(row)
            else:
                repeated.append(Duplicate(record.item, row["apn"], first))
        postgres = self.sessions.kw["bind"].dialect.name == "postgresql"
        return values, parcel_copy_payload(values) if postgres else b"", repeated

    def _collect(
        self, items: Iterator[ParcelRecord | ParcelError], last_item: int
    ) -> tuple[list[ParcelRecord], list[ItemError], int, bool]:
        records: list[ParcelRecord] = []
        errors: list[ItemError] = []
        deadline = time.monotonic() + BATCH_SECONDS
        while len(records) + len(errors) < self.batch_items and time.monotonic() < deadline:
            item = next(items, None)
            if item is None:
                return records, errors, last_item, True
            last_item = max(last_item, item.item)
            if isinstance(item, ParcelError):
                detail = {"row": item.item, "field": item.field}
                errors.append(ItemError(f"item:{item.item}", "bad_parcel", item.reason, detail))
            else:
                records.append(item)
        return records, errors, last_item, False
