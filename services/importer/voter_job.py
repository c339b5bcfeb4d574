"""The ``voter_import`` job: a stored voter file streamed into voters and households, resumable.

A checkpoint is the reader's byte offset and line number (plus the header it saw), saved after each
batch commits, so a resumed or replacement worker continues exactly where the last batch ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.worker import ItemError, JobContext, JobFailed
from cocoa_importer.formats import FormatError, Position, RowError, VoterReader, open_reader
from cocoa_importer.grouping import AddressBook, voter_row
from cocoa_importer.repository import BatchCounts, ImportRepository, StagedBatch, copy_payload

BATCH_ROWS = 5000
BATCH_SECONDS = 0.5  # progress at least twice a second even on a slow database


@dataclass
class Batch:
    households: list[tuple[object, ...]] = field(default_factory=list)
    voters: dict[str, tuple[object, ...]] = field(default_factory=dict)  # by voter id: the last row wins
    staged: StagedBatch | None = None
    errors: list[ItemError] = field(default_factory=list)
    rows: int = 0
    duplicates: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    position: Position | None = None
    done: bool = False


@dataclass
class ImportStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    duplicates: int = 0
    flagged: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, saved: dict[str, Any]) -> ImportStats:
        return cls(
            created=int(saved.get("recordsCreated", 0)),
            updated=int(saved.get("recordsUpdated", 0)),
            unchanged=int(saved.get("recordsUnchanged", 0)),
            skipped=int(saved.get("recordsSkipped", 0)),
            rejected=int(saved.get("recordsRejected", 0)),
            duplicates=int(saved.get("duplicateRows", 0)),
            flagged=dict(saved.get("addressesFlagged", {})),
        )

    def add(self, counts: BatchCounts, batch: Batch) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.skipped += counts.skipped
        self.rejected += len(batch.errors)
        self.duplicates += batch.duplicates
        for reason, n in batch.flagged.items():
            self.flagged[reason] = self.flagged.get(reason, 0) + n

    def output(self, **extra: Any) -> dict[str, Any]:
        return {
            "recordsCreated": self.created,
            "recordsUpdated": self.updated,
            "recordsUnchanged": self.unchanged,
            # Skipped: unchanged rows, and in incremental mode voters that do not exist yet.
            "recordsSkipped": self.skipped + self.unchanged,
            "recordsRejected": self.rejected,
            "duplicateRows": self.duplicates,
            "addressesFlagged": dict(self.flagged),
            **extra,
        }


class VoterImportJob:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], batch_rows: int = BATCH_ROWS) -> None:
        self.sessions = sessions
        self.batch_rows = batch_rows

    async def __call__(self, ctx: JobContext) -> None:
        path = str(ctx.data.get("path", ""))
        if not path or not os.path.exists(path):
            raise JobFailed(f"the uploaded file is missing from storage ({path or 'no path'})")
        incremental = ctx.data.get("importType") == "incremental"
        checkpoint = ctx.checkpoint or {}
        stats = ImportStats.load(ctx.stats)
        size = os.path.getsize(path)
        postgres = self.sessions.kw["bind"].dialect.name == "postgresql"
        with open(path, "rb") as stream:
            reader = self._reader(ctx, stream, checkpoint)
            source = reader.format_id
            book = AddressBook()
            rows = iter(reader)

            def collect() -> Batch:
                return self._collect(rows, book, source, ctx.job_id, postgres)

            # The next batch is read and normalized in a thread while this one is written.
            upcoming: asyncio.Future[Batch] | None = asyncio.ensure_future(asyncio.to_thread(collect))
            try:
                while upcoming is not None:
                    batch = await upcoming
                    upcoming = None if batch.done else asyncio.ensure_future(asyncio.to_thread(collect))
                    if batch.rows:
                        await self._write(batch, stats, incremental)
                        await self._report(ctx, reader, batch, stats, size, source)
            finally:
                if upcoming is not None:
                    with contextlib.suppress(Exception):
                        await upcoming  # the thread reads the file: let it finish before it closes
        ctx.total_items = ctx.processed + ctx.failed
        ctx.stats = stats.output(bytesRead=size, bytesTotal=size, format=source)

    def _reader(self, ctx: JobContext, stream: BinaryIO, checkpoint: dict[str, Any]) -> VoterReader:
        fmt = str(checkpoint.get("format") or ctx.data.get("format") or "auto")
        mapping = ctx.data.get("mapping") if fmt == "csv_mapped" else None
        start = (
            Position(int(checkpoint["offset"]), int(checkpoint["line"])) if "offset" in checkpoint else None
        )
        try:
            return open_reader(
                fmt,
                stream,
                start=start,
                mapping=mapping,
                header=checkpoint.get("header"),
                delimiter=checkpoint.get("delimiter"),
            )
        except FormatError as exc:
            raise JobFailed(f"cannot read the file as {fmt}: {exc}") from None

    def _collect(self, rows: Any, book: AddressBook, source: str, job_id: str, postgres: bool) -> Batch:
        """Read, normalize and stage up to one batch of rows (runs in a thread)."""
        batch = Batch()
        deadline = time.monotonic() + BATCH_SECONDS
        while batch.rows < self.batch_rows and time.monotonic() < deadline:
            item = next(rows, None)
            if item is None:
                batch.done = True
                break
            record, batch.position = item
            batch.rows += 1
            if isinstance(record, RowError):
                detail = {"row": record.line, "field": record.field, "raw": record.raw[:200]}
                batch.errors.append(ItemError(f"line:{record.line}", "bad_row", record.reason, detail))
                continue
            residence = book.residence(record)
            if residence.new_household is not None:
                batch.households.append(residence.new_household)
            elif residence.flag is not None:
                batch.flagged[residence.flag.reason] = batch.flagged.get(residence.flag.reason, 0) + 1
            row = voter_row(record, source, residence, job_id)
            voter_id = str(row[1])
            if voter_id in batch.voters:
                batch.duplicates += 1  # the same voter twice in a batch: the later row wins
            batch.voters[voter_id] = row
        voters = list(batch.voters.values())
        batch.staged = StagedBatch(
            batch.households,
            voters,
            copy_payload(batch.households) if postgres else b"",
            copy_payload(voters) if postgres else b"",
        )
        return batch

    async def _write(self, batch: Batch, stats: ImportStats, incremental: bool) -> None:
        assert batch.staged is not None
        async with self.sessions.begin() as session:
            counts = await ImportRepository(session).upsert_voters(batch.staged, incremental=incremental)
        counts.unchanged += batch.duplicates
        stats.add(counts, batch)

    async def _report(
        self, ctx: JobContext, reader: VoterReader, batch: Batch, stats: ImportStats, size: int, source: str
    ) -> None:
        assert batch.position is not None
        processed = ctx.processed + batch.rows - len(batch.errors)
        failed = ctx.failed + len(batch.errors)
        done = processed + failed
        offset = batch.position.byte_offset
        # Rows are unknown until the end: estimate from bytes so progress and ETA mean something.
        total = done if batch.done or offset >= size else max(done, round(done * size / max(offset, 1)))
        output = stats.output(bytesRead=offset, bytesTotal=size, format=source)
        await ctx.report(
            processed=processed,
            failed=failed,
            total=total,
            errors=batch.errors,
            stats=output,
            checkpoint={
                "offset": offset,
                "line": batch.position.line,
                "header": reader.header,
                "delimiter": reader.delimiter,
                "format": source,
                "processed": processed,
                "failed": failed,
                "stats": output,
            },
        )
