"""Resumable uploads (tus's model): a file created with its length, appended to at its offset by as
many calls as it takes, and imported once complete, so a 5 GB voter file sent over a connection that
drops is never sent twice.

The file in upload storage (``<id>.part``) is the truth: its size is the offset the next piece
starts at, so a call cut short keeps what arrived and the client carries on from there. One call
at a time holds an exclusive ``flock`` on the file while it appends, imports or deletes, so replicas
sharing the storage cannot interleave. An upload nobody appends to for ``ABANDONED_AFTER`` is
removed by the retention sweep; an imported one is spent (its bytes live on as the import's file).

An upload belongs to the user who created it: anyone else naming it is told there is no such upload,
as for an unknown id, so ids cannot be probed. Each user may hold ``max_open_per_user`` unfinished
uploads at once. Internal callers that name no user (an empty id) may use any upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cocoa_common import errors
from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import ResumableUpload
from cocoa_importer.repository import ImportRepository
from cocoa_importer.storage import ABANDONED_AFTER, Hashed, UploadStore

CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")  # tus requires sha1
HASHES_KEPT = 1000  # uploads whose running sha256 a process remembers (a few hundred bytes each)
MAX_FILENAME = 300
PAGE = 100
MAX_OPEN_PER_USER = 20
LISTED = 200  # a user's unfinished uploads listed at most (more only if the cap was lowered)


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class ResumableStatus:
    id: str
    filename: str
    length: int
    offset: int
    created_at: datetime
    expires_at: datetime | None  # None once imported
    created_by_id: str
    job_id: str  # the import made of it, or ""

    @property
    def complete(self) -> bool:
        return self.offset == self.length


@dataclass(frozen=True, slots=True)
class Taken:
    """A complete upload held for one import: its file, the name it was created with, and the
    sha256 of its first bytes as this process appended them (None: hash the file whole)."""

    id: str
    path: Path
    filename: str
    hashed: Hashed | None = None


class RunningHashes:
    """The sha256 of each upload's bytes so far, as this process appended them, so that importing a
    5 GB upload does not read it all again before answering. A hint, never the truth: an entry
    stands for the file's first ``offset`` bytes, which later appends never change, and an import
    on a replica that did not see every append reads the rest of the file from there."""

    def __init__(self, limit: int = HASHES_KEPT) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, Hashed] = OrderedDict()

    def at(self, upload_id: str, offset: int) -> Any | None:
        """A copy of the hash of exactly the first ``offset`` bytes, if this process has it."""
        entry = self._entries.get(upload_id)
        return entry.digest.copy() if entry is not None and entry.offset == offset else None

    def latest(self, upload_id: str) -> Hashed | None:
        entry = self._entries.get(upload_id)
        return Hashed(entry.offset, entry.digest.copy()) if entry is not None else None

    def keep(self, upload_id: str, offset: int, digest: Any) -> None:
        self._entries[upload_id] = Hashed(offset, digest)
        self._entries.move_to_end(upload_id)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        self._entries.pop(upload_id, None)


class ResumableUploads:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: UploadStore,
        abandoned_after: timedelta = ABANDONED_AFTER,
        max_open_per_user: int = MAX_OPEN_PER_USER,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.abandoned_after = abandoned_after
        self.max_open_per_user = max_open_per_user
        self.hashes = RunningHashes()

    async def create(self, filename: str, length: int, created_by_id: str = "") -> ResumableStatus:
        if length < 0:
            raise errors.InvalidArgument("Upload-Length must not be negative", field="Upload-Length")
        if length > self.store.max_bytes:
            raise errors.TooLarge(
                f"Upload-Length {length} is over the {self.store.max_bytes} byte upload limit",
                field="Upload-Length",
            )
        if len(filename) > MAX_FILENAME or any(ord(c) < 32 for c in filename):
            raise errors.InvalidArgument(
                f"filename must be at most {MAX_FILENAME} printable characters", field="filename"
            )
        self.store.directory.mkdir(parents=True, exist_ok=True)
        self.store.ensure_room(length)
        upload = ResumableUpload(
            id=new_id(),
            filename=filename,
            length=length,
            created_by_id=created_by_id or None,
            created_at=utcnow(),
        )
        path = self.store.partial_path(upload.id)
        path.touch(exist_ok=False)
        try:
            async with self.sessions.begin() as session:
                repository = ImportRepository(session)
                await self._check_quota(repository, created_by_id)
                await repository.add_resumable(upload)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.hashes.keep(upload.id, 0, hashlib.sha256())
        return self._status(upload, path)

    async def status(self, upload_id: str, requested_by_id: str = "") -> ResumableStatus:
        upload = await self._row(upload_id, requested_by_id=requested_by_id)
        return self._status(upload, self.store.partial_path(upload.id))

    async def open_uploads(self, created_by_id: str) -> list[ResumableStatus]:
        """The user's unfinished uploads, newest first: those not imported, deleted or expired."""
        if not created_by_id:
            raise errors.InvalidArgument("Name the user whose uploads to list", field="created_by_id")
        async with self.sessions() as session:
            rows = await ImportRepository(session).open_resumables(created_by_id, LISTED)
        cutoff = utcnow() - self.abandoned_after
        listed = []
        for upload in rows:
            path = self.store.partial_path(upload.id)
            if not _expired(path, cutoff):
                with contextlib.suppress(errors.NotFound):  # deleted since it was read
                    listed.append(self._status(upload, path))
        return listed

    async def _check_quota(self, repository: ImportRepository, user_id: str) -> None:
        """Refuse a user's creation while they hold ``max_open_per_user`` unfinished uploads. An
        expired one the sweep has not removed yet does not count."""
        if not user_id:
            return
        await repository.hold_uploads_of(user_id)
        cutoff = utcnow() - self.abandoned_after
        rows = await repository.open_resumables(user_id, max(LISTED, self.max_open_per_user))
        held = sum(not _expired(self.store.partial_path(u.id), cutoff) for u in rows)
        if held >= self.max_open_per_user:
            raise errors.QuotaExceeded(
                f"You have {held} unfinished uploads, the most one user may hold"
                f" ({self.max_open_per_user}): import or delete one first; an upload nobody appends"
                f" to expires {_hours(self.abandoned_after)} after its last byte"
            )

    async def append(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        checksum: Checksum | None = None,
        requested_by_id: str = "",
    ) -> ResumableStatus:
        """Write ``chunks`` at ``offset``, which must be the upload's. Without a checksum, a call cut
        short keeps the bytes that arrived; with one, or sending past the length, it keeps none."""
        if checksum is not None and checksum.algorithm not in CHECKSUM_ALGORITHMS:
            raise errors.InvalidArgument(
                f"Unsupported checksum algorithm {checksum.algorithm[:20]!r}; use one of"
                f" {', '.join(CHECKSUM_ALGORITHMS)}",
                field="Upload-Checksum",
            )
        async with self._held(upload_id, "r+b", requested_by_id=requested_by_id) as (upload, out):
            start = os.fstat(out.fileno()).st_size
            if offset != start:
                raise errors.Conflict(
                    f"Upload-Offset {offset} is not the upload's offset {start}: ask for its offset"
                    " and send from there",
                    field="Upload-Offset",
                )
            self.store.ensure_room(upload.length - start)  # other uploads may have taken the room since
            out.seek(start)
            await self._write(out, upload, start, chunks, checksum, self.hashes.at(upload.id, start))
        return self._status(upload, self.store.partial_path(upload.id))

    async def delete(self, upload_id: str, requested_by_id: str = "") -> None:
        """Remove the upload and its bytes (tus's termination)."""
        upload = await self._row(upload_id, requested_by_id=requested_by_id)
        if not upload.job_id:
            async with self._held(upload_id, "rb", requested_by_id=requested_by_id):
                self.store.partial_path(upload.id).unlink()
        self.hashes.forget(upload.id)
        async with self.sessions.begin() as session:
            await ImportRepository(session).delete_resumables([upload.id])

    async def imported_as(self, upload_id: str, idempotency_key: str, created_by_id: str) -> str | None:
        """The job a replay of this import (same key, same caller) made of the upload, if any."""
        if not idempotency_key or not self.store.is_upload_id(upload_id):
            return None
        async with self.sessions() as session:
            upload = await ImportRepository(session).resumable(upload_id)
        if upload is None or not upload.job_id or upload.idempotency_key != idempotency_key:
            return None
        return upload.job_id if (upload.imported_by_id or "") == created_by_id else None

    @contextlib.asynccontextmanager
    async def taken(self, upload_id: str, requested_by_id: str = "") -> AsyncIterator[Taken]:
        """Hold a complete upload while an import is made of it; nobody appends or imports it meanwhile."""
        held_upload = self._held(upload_id, "rb", field="uploadId", requested_by_id=requested_by_id)
        async with held_upload as (upload, held):
            size = os.fstat(held.fileno()).st_size
            if size != upload.length:
                raise errors.InvalidArgument(
                    f"Upload {upload.id} is not complete: {size} of its {upload.length} bytes have arrived",
                    field="uploadId",
                )
            path = self.store.partial_path(upload.id)
            yield Taken(upload.id, path, upload.filename, self.hashes.latest(upload.id))

    async def spend(self, upload_id: str, job_id: str, by_id: str = "", idempotency_key: str = "") -> None:
        """The import ``job_id`` was made of the upload: its bytes now live as that import's file."""
        async with self.sessions.begin() as session:
            await ImportRepository(session).spend_resumable(
                upload_id, job_id, utcnow(), by_id, idempotency_key
            )
        self.store.partial_path(upload_id).unlink(missing_ok=True)
        self.hashes.forget(upload_id)

    async def expire(self, now: datetime) -> int:
        """Forget uploads nobody appended to for ``abandoned_after`` (removing their bytes), and
        imported ones as old: a day after its import, naming a spent upload is a 404 like any other."""
        cutoff = now - self.abandoned_after
        removed, after = 0, ""
        while True:
            async with self.sessions() as session:
                page = await ImportRepository(session).resumables_created_before(cutoff, after, PAGE)
            gone = [u.id for u in page if self._abandoned(u, cutoff)]
            async with self.sessions.begin() as session:
                await ImportRepository(session).delete_resumables(gone)
            for upload_id in gone:
                self.hashes.forget(upload_id)
            removed += len(gone)
            if len(page) < PAGE:
                return removed
            after = page[-1].id

    def _abandoned(self, upload: ResumableUpload, cutoff: datetime) -> bool:
        if upload.job_id:
            return upload.imported_at is None or upload.imported_at <= cutoff
        path = self.store.partial_path(upload.id)
        if not _expired(path, cutoff):
            return False
        path.unlink(missing_ok=True)
        return True

    async def _row(
        self, upload_id: str, field: str | None = None, requested_by_id: str = ""
    ) -> ResumableUpload:
        if not self.store.is_upload_id(upload_id):
            raise errors.NotFound(f"No upload {upload_id[:40]!r}", field=field)
        async with self.sessions() as session:
            upload = await ImportRepository(session).resumable(upload_id)
        if upload is None or not _belongs_to(upload, requested_by_id):
            raise errors.NotFound(f"No upload {upload_id}", field=field)
        return upload

    @contextlib.asynccontextmanager
    async def _held(
        self, upload_id: str, mode: str, field: str | None = None, requested_by_id: str = ""
    ) -> AsyncIterator[tuple[ResumableUpload, BinaryIO]]:
        """The upload's row and its file, opened and locked: one call at a time appends, imports
        or deletes it. Whoever held it before may have imported or deleted it, so both are looked
        at again once the lock is ours."""
        upload = self._unspent(await self._row(upload_id, field, requested_by_id), field)
        path = self.store.partial_path(upload.id)
        try:
            # Unbuffered: every byte received is in the file at once, so the offset a HEAD reads
            # during an append is all that arrived, and a process killed mid-append keeps it.
            f = open(path, mode, buffering=0)  # closed below, which releases the lock
        except FileNotFoundError:
            raise _gone(upload.id, field) from None
        with f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise errors.Conflict(
                    f"Another request is writing or importing upload {upload.id}; try again once it has ended",
                    field=field,
                ) from None
            upload = self._unspent(await self._row(upload_id, field), field)
            if not _same_file(f, path):
                raise _gone(upload.id, field)
            yield upload, f

    @staticmethod
    def _unspent(upload: ResumableUpload, field: str | None) -> ResumableUpload:
        if upload.job_id:
            raise errors.Conflict(
                f"Upload {upload.id} was imported by job {upload.job_id}; upload the file again to"
                " import it again, or retry that job",
                field=field,
            )
        return upload

    async def _write(
        self,
        out: BinaryIO,
        upload: ResumableUpload,
        start: int,
        chunks: AsyncIterator[bytes],
        checksum: Checksum | None,
        running: Any | None,
    ) -> None:
        """``running``: the upload's sha256 at ``start``, fed what is kept and remembered."""
        digest = hashlib.new(checksum.algorithm) if checksum else None
        size = start
        try:
            async for chunk in chunks:
                if size + len(chunk) > upload.length:
                    raise errors.TooLarge(
                        f"The upload is {upload.length} bytes and {size} have arrived; this request"
                        f" sends more than the {upload.length - size} left",
                        field="Upload-Length",
                    )
                _write_all(out, chunk)
                size += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                if running is not None:
                    running.update(chunk)
            if checksum is not None and digest is not None and digest.digest() != checksum.digest:
                raise errors.Corrupted(
                    f"The request's bytes do not have the {checksum.algorithm} checksum sent with them;"
                    " none were kept: send them again",
                    field="Upload-Checksum",
                )
        except BaseException as exc:
            if checksum is not None or isinstance(exc, errors.TooLarge):
                out.truncate(start)  # all of the request's bytes or none
            elif running is not None:
                self.hashes.keep(upload.id, size, running)
            raise  # without a checksum, a call cut short keeps what arrived
        if running is not None:
            self.hashes.keep(upload.id, size, running)
        # The offset answered must survive a crash of this machine: the client sends on from it.
        await asyncio.to_thread(os.fsync, out.fileno())

    def _status(self, upload: ResumableUpload, path: Path) -> ResumableStatus:
        expires_at = None
        offset = upload.length
        if not upload.job_id:
            modified = _modified(path)
            if modified is None:
                raise _gone(upload.id, None)
            offset = path.stat().st_size
            expires_at = modified + self.abandoned_after
        return ResumableStatus(
            upload.id,
            upload.filename,
            upload.length,
            offset,
            upload.created_at,
            expires_at,
            upload.created_by_id or "",
            upload.job_id or "",
        )


def _write_all(out: BinaryIO, data: bytes) -> None:
    """An unbuffered write may take fewer bytes than given; the rest follows."""
    view = memoryview(data)
    while view:
        written = out.write(view)
        if not written:
            raise OSError(errno.EIO, "the upload storage took no bytes")
        view = view[written:]


def _belongs_to(upload: ResumableUpload, requested_by_id: str) -> bool:
    """Whether the caller may use the upload: its creator, or an internal caller naming no user."""
    return not requested_by_id or not upload.created_by_id or upload.created_by_id == requested_by_id


def _expired(path: Path, cutoff: datetime) -> bool:
    """Whether an unfinished upload's file is gone, or nobody appended to it since ``cutoff``."""
    modified = _modified(path)
    return modified is None or modified <= cutoff


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return "a day" if hours == 24 else f"{hours:g} hours"


def _gone(upload_id: str, field: str | None) -> errors.NotFound:
    return errors.NotFound(f"No upload {upload_id}: it expired or was deleted", field=field)


def _same_file(f: BinaryIO, path: Path) -> bool:
    """Whether ``path`` still names the open file ``f`` (not removed, nor replaced, meanwhile)."""
    try:
        return os.path.samestat(os.fstat(f.fileno()), path.stat())
    except FileNotFoundError:
        return False


def _modified(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return None
