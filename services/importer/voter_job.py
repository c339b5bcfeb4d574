"""The ``voter_import`` job: a stored voter file streamed into voters and households, resumable.

A checkpoint is the reader's byte offset and line number (plus the header it saw), saved after each
batch commits, so a resumed or replacement worker continues exactly where the last batch ended.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common.worker import ItemError, JobContext, JobFailed
from cocoa_importer.formats import (
    FormatError,
    Position,
    RawRecord,
    RowError,
    VoterReader,
    VoterRow,
    check_rows,
    open_reader,
)
from cocoa_importer.grouping import AddressBook, Flag, RecordHasher, residential_line, voter_row
from cocoa_importer.repository import BatchCounts, ImportRepository, StagedBatch, copy_payload
from cocoa_importer.storage import NotAnUpload, UploadStore
from cocoa_importer.tasks import settle

BATCH_ROWS = 5000
BATCH_SECONDS = 0.5  # a batch is sized to be parsed in about this long, so progress flows
# Addresses that failed to normalize are logged on the job (their voters are imported, flagged, with
# no household); PO boxes, removed/confidential and empty addresses are the source's own choice.
LOGGED_FLAGS = ("unparseable", "no_house_number")
ADDRESS_NOT_NORMALIZED = "address_not_normalized"
KNOWN_SAMPLE = 64  # records of a batch looked up first to tell whether looking up the rest pays


@dataclass
class RawBatch:
    """Records read but not yet parsed, with their row hashes (None for a record that cannot parse)."""

    records: list[RawRecord]
    hashes: list[str | None]
    done: bool


@dataclass
class Batch:
    households: list[tuple[object, ...]] = field(default_factory=list)
    voters: dict[str, tuple[object, ...]] = field(default_factory=dict)  # by voter id: the last row wins
    staged: StagedBatch | None = None
    errors: list[ItemError] = field(default_factory=list)
    notes: list[ItemError] = field(default_factory=list)  # imported rows whose address failed: not failures
    rows: int = 0
    unchanged: int = 0  # records already stored exactly so: never parsed
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
    households_created: int = 0
    households_linked: int = 0
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
            households_created=int(saved.get("householdsCreated", 0)),
            households_linked=int(saved.get("householdsLinkedToParcels", 0)),
            flagged=dict(saved.get("addressesFlagged", {})),
        )

    def add(self, counts: BatchCounts, batch: Batch) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.skipped += counts.skipped
        self.rejected += len(batch.errors)
        self.duplicates += batch.duplicates
        self.households_created += counts.households_created
        self.households_linked += counts.households_linked
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
            "householdsCreated": self.households_created,
            "householdsLinkedToParcels": self.households_linked,
            "addressesFlagged": dict(self.flagged),
            **extra,
        }


class VoterImportJob:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], store: UploadStore, batch_rows: int = BATCH_ROWS
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.batch_rows = batch_rows

    async def __call__(self, ctx: JobContext) -> None:
        try:
            path = str(self.store.find(ctx.data.get("uploadId")))
        except NotAnUpload as exc:
            raise JobFailed(str(exc)) from None
        incremental = ctx.data.get("importType") == "incremental"
        checkpoint = ctx.checkpoint or {}
        stats = ImportStats.load(ctx.stats)
        size = os.path.getsize(path)
        postgres = self.sessions.kw["bind"].dialect.name == "postgresql"
        if "offset" not in checkpoint:  # a fresh start: refuse a file of the wrong format before writing
            await asyncio.to_thread(self._check_rows, ctx, path)
        with open(path, "rb") as stream:
            reader = self._reader(ctx, stream, checkpoint)
            source = reader.format_id
            batches = BatchSource(reader, ctx.job_id, postgres, self.batch_rows)
            upcoming: asyncio.Future[Batch] | None = asyncio.ensure_future(self._next_batch(batches))
            try:
                while upcoming is not None:
                    batch = await upcoming
                    # The next batch is read and parsed while this one is written.
                    upcoming = None if batch.done else asyncio.ensure_future(self._next_batch(batches))
                    if batch.rows:
                        await self._write(batch, stats, incremental)
                        await self._report(ctx, reader, batch, stats, size, source)
            finally:
                # Threads read the file: let them finish before it closes. The upcoming batch may
                # start another read ahead, so that one is looked at after it.
                await settle(upcoming)
                await settle(batches.read_ahead)
        ctx.total_items = ctx.processed + ctx.failed
        ctx.stats = stats.output(bytesRead=size, bytesTotal=size, format=source)

    def _check_rows(self, ctx: JobContext, path: str) -> None:
        fmt, mapping = _format_of(ctx, {})
        try:
            check_rows(path, fmt, mapping)
        except FormatError as exc:
            raise JobFailed(f"cannot read the file as {fmt}: {exc}") from None

    def _reader(self, ctx: JobContext, stream: BinaryIO, checkpoint: dict[str, Any]) -> VoterReader:
        fmt, mapping = _format_of(ctx, checkpoint)
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

    async def _next_batch(self, batches: BatchSource) -> Batch:
        raw = await (batches.read_ahead or asyncio.to_thread(batches.read))
        # The records after these are read while these are looked up and parsed.
        batches.read_ahead = None if raw.done else asyncio.ensure_future(asyncio.to_thread(batches.read))
        known = await self._known_hashes(raw.hashes)
        return await asyncio.to_thread(batches.build, raw, known)

    async def _known_hashes(self, hashes: list[str | None]) -> set[str]:
        """Which of these records are stored already, unchanged (its own session: a write may be open).

        Only an optimisation, since the upsert leaves an unchanged voter alone anyway: when a sample
        of the batch is all new (a first import), the rest is not looked up.
        """
        wanted = [h for h in hashes if h is not None]
        if not wanted:
            return set()
        async with self.sessions() as session:
            repo = ImportRepository(session)
            if len(wanted) > 2 * KNOWN_SAMPLE:
                sample = wanted[:: len(wanted) // KNOWN_SAMPLE]
                if not await repo.known_row_hashes(sample):
                    return set()
            return await repo.known_row_hashes(wanted)

    async def _write(self, batch: Batch, stats: ImportStats, incremental: bool) -> None:
        assert batch.staged is not None
        counts = BatchCounts()
        if batch.staged.voters:
            async with self.sessions.begin() as session:
                counts = await ImportRepository(session).upsert_voters(batch.staged, incremental=incremental)
        counts.unchanged += batch.duplicates + batch.unchanged
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
            errors=sorted([*batch.errors, *batch.notes], key=_line_of),
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


def _format_of(ctx: JobContext, checkpoint: dict[str, Any]) -> tuple[str, Any]:
    """The format to read the file in (the one a checkpoint saw wins) and its column mapping."""
    fmt = str(checkpoint.get("format") or ctx.data.get("format") or "auto")
    return fmt, ctx.data.get("mapping") if fmt == "csv_mapped" else None


def address_note(row: VoterRow, flag: Flag) -> ItemError:
    """The ledger entry of a voter imported without a household because its address failed."""
    raw = residential_line(row)[:200]
    detail = {"row": row.line, "field": "residential_address", "reason": flag.reason, "raw": raw}
    return ItemError(f"line:{row.line}", ADDRESS_NOT_NORMALIZED, f"{flag.reason}: {flag.message}", detail)


def _line_of(error: ItemError) -> int:
    return int(error.detail.get("row", 0))


class BatchSource:
    """Turns a reader's records into batches, in two steps run in a thread: ``read`` takes the next
    records and hashes them; ``build`` parses and stages those whose hash is not ``known`` already."""

    def __init__(self, reader: VoterReader, job_id: str, postgres: bool, batch_rows: int) -> None:
        self.reader = reader
        self.job_id = job_id
        self.postgres = postgres
        self.batch_rows = batch_rows
        self._next_rows = min(batch_rows, 1000)  # grows to batch_rows once the pace is known
        self._records = reader.records()
        self._hash = RecordHasher(reader.fingerprint)
        self._book = AddressBook()
        self.read_ahead: asyncio.Future[RawBatch] | None = None

    def read(self) -> RawBatch:
        wanted = self._next_rows
        records = list(itertools.islice(self._records, wanted))
        hashes = [self._hash(data) if type(data) is bytes else None for _, data, _, _ in records]
        return RawBatch(records, hashes, done=len(records) < wanted)

    def build(self, raw: RawBatch, known: set[str]) -> Batch:
        started = time.monotonic()
        batch = Batch(rows=len(raw.records), done=raw.done)
        if raw.records:
            batch.position = raw.records[-1][3]
        source, parse, book = self.reader.format_id, self.reader.parse, self._book
        for record, row_hash in zip(raw.records, raw.hashes, strict=True):
            if row_hash in known:
                batch.unchanged += 1
                continue
            row = parse(record)
            if isinstance(row, RowError):
                detail = {"row": row.line, "field": row.field, "raw": row.raw[:200]}
                batch.errors.append(ItemError(f"line:{row.line}", "bad_row", row.reason, detail))
                continue
            residence = book.residence(row)
            if residence.new_household is not None:
                batch.households.append(residence.new_household)
            elif residence.flag is not None:
                batch.flagged[residence.flag.reason] = batch.flagged.get(residence.flag.reason, 0) + 1
                if residence.flag.reason in LOGGED_FLAGS:
                    batch.notes.append(address_note(row, residence.flag))
            staged = voter_row(row, source, residence, self.job_id, row_hash or "")
            voter_id = str(staged[1])
            if voter_id in batch.voters:
                batch.duplicates += 1  # the same voter twice in a batch: the later row wins
            batch.voters[voter_id] = staged
        voters = list(batch.voters.values())
        batch.staged = StagedBatch(
            batch.households,
            voters,
            copy_payload(batch.households) if self.postgres else b"",
            copy_payload(voters) if self.postgres else b"",
        )
        self._pace(len(raw.records) - batch.unchanged, time.monotonic() - started)
        return batch

    def _pace(self, parsed: int, elapsed: float) -> None:
        """Size the next batch to take about BATCH_SECONDS to parse at the pace just seen."""
        if parsed < 100:
            self._next_rows = self.batch_rows  # nothing to parse: reading and hashing are cheap
            return
        self._next_rows = max(100, min(self.batch_rows, int(parsed / max(elapsed, 1e-3) * BATCH_SECONDS)))
