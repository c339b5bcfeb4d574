"""Uploads streamed to disk: never held whole in memory, size-limited, hashed while they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePath
from typing import Any

from cocoa_common import errors
from cocoa_common.ids import new_id
from cocoa_importer.compression import STORAGE_FULL, compression_of, inflate


@dataclass(frozen=True, slots=True)
class Hashed:
    """A sha256 object fed the first ``offset`` bytes of a file."""

    offset: int
    digest: Any


@dataclass(frozen=True, slots=True)
class StoredFile:
    upload_id: str
    path: str
    size_bytes: int  # of the stored file: inflated, for a compressed upload
    sha256: str  # of the bytes uploaded
    head: bytes  # the first 64 KiB of the stored file, for format detection
    content_name: str  # the stored file's own name: the upload's, or the zip member's
    compression: str | None = None  # gzip | zip, inflated into the stored file
    uploaded_bytes: int = 0


logger = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
HASH_BLOCK = 1024 * 1024
# A partial upload nobody has written to for this long has been abandoned (a crash, a client that
# gave up) and the retention sweep removes it.
ABANDONED_AFTER = timedelta(hours=24)
PARTIAL = ".part"  # an upload still arriving (or cut short by a crash) is <id><suffix>.part
_NO_HARD_LINKS = (errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.EMLINK)  # e.g. SMB, some FUSE mounts
_UPLOAD_ID = re.compile(r"[a-z0-9]{20,32}")  # ids.new_id(): no dots, slashes or wildcards
ROOM_CHECK_BYTES = 64 * 1024 * 1024  # an upload of unknown length looks at the disk's free space this often


class NotAnUpload(ValueError):
    """A job's file is not a finished upload of this store (absent, elsewhere, or still partial)."""


class UploadStore:
    def __init__(self, directory: str, max_bytes: int, min_free_bytes: int = 0) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes

    def ensure_room(self, more_bytes: int) -> None:
        """Refuse, before writing them, bytes the disk cannot take while keeping ``min_free_bytes``
        free: an upload that cannot fit is told so at once, not once most of it has been sent, and
        it never fills a disk it may share with PostgreSQL. The directory must exist."""
        free = shutil.disk_usage(self.directory).free
        if free - more_bytes < self.min_free_bytes:
            logger.error("upload storage %s: %d bytes free, %d asked for", self.directory, free, more_bytes)
            raise errors.Unavailable(
                f"Upload storage is nearly full: {_mib(free)} free, and {_mib(self.min_free_bytes)} must"
                f" stay free{f' after these {_mib(more_bytes)}' if more_bytes else ''}; try again once"
                " space is freed"
            )

    async def save(self, chunks: AsyncIterator[bytes], filename: str = "") -> StoredFile:
        """Write chunks to ``<dir>/<id><suffix>``, inflating a gzip or zip upload (see ``compression``).
        Over the limit, or on any failure, nothing is left behind."""
        self.directory.mkdir(parents=True, exist_ok=True)
        upload_id = new_id()
        partial = self.partial_path(upload_id)
        self.ensure_room(0)
        try:
            with self._full_is_unavailable():
                size, sha256, head = await self._receive(chunks, partial)
                return await self._keep(upload_id, partial, (size, sha256, head), filename, link=False)
        finally:
            partial.unlink(missing_ok=True)

    async def adopt(self, source: Path, filename: str, hashed: Hashed | None = None) -> StoredFile:
        """A complete resumable upload as a stored file of its own: a hard link to it (no copy of a
        5 GB file), or its inflated copy when it is compressed. ``source`` stays as it was, so an
        import refused for a wrong format can name it again. With ``hashed``, only the bytes after
        its offset are read to hash the file."""
        with self._full_is_unavailable():
            received = await asyncio.to_thread(_digest, source, hashed)
            return await self._keep(new_id(), source, received, filename, link=True)

    def partial_path(self, upload_id: str) -> Path:
        return self.directory / f"{upload_id}{PARTIAL}"

    @staticmethod
    def is_upload_id(value: str) -> bool:
        """Shaped like ``ids.new_id()``: safe in a file name (no dots, slashes or wildcards)."""
        return _UPLOAD_ID.fullmatch(value) is not None

    async def _keep(
        self, upload_id: str, source: Path, received: tuple[int, str, bytes], filename: str, *, link: bool
    ) -> StoredFile:
        size, sha256, head = received
        kind = compression_of(head)
        if kind is None:
            final = self._final(upload_id, filename)
            if link:
                await asyncio.to_thread(_link_or_copy, source, final)
            else:
                os.replace(source, final)
            return StoredFile(upload_id, str(final), size, sha256, head, filename, None, size)
        inflating = self.directory / f"{upload_id}.inflated{PARTIAL}"
        try:
            inflated = await asyncio.to_thread(
                inflate, kind, source, inflating, filename, self.max_bytes, HEAD_BYTES
            )
            final = self._final(upload_id, inflated.name)
            os.replace(inflating, final)
        finally:
            inflating.unlink(missing_ok=True)
        return StoredFile(
            upload_id, str(final), inflated.size_bytes, sha256, inflated.head, inflated.name, kind, size
        )

    @contextlib.contextmanager
    def _full_is_unavailable(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno not in STORAGE_FULL:
                raise
            logger.error("upload storage %s is full: %s", self.directory, exc.strerror)
            raise errors.Unavailable(
                f"Upload storage is full ({exc.strerror}); try again once space is freed"
            ) from None

    async def _receive(self, chunks: AsyncIterator[bytes], partial: Path) -> tuple[int, str, bytes]:
        """Stream the upload to ``partial``: (size, sha256, first bytes)."""
        digest = hashlib.sha256()
        size = 0
        head = b""
        room_checked = 0
        with open(partial, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise errors.TooLarge(
                        f"File is larger than the {self.max_bytes} byte limit", field="file"
                    )
                if size - room_checked >= ROOM_CHECK_BYTES:
                    self.ensure_room(0)
                    room_checked = size
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        return size, digest.hexdigest(), head

    def _final(self, upload_id: str, filename: str) -> Path:
        return self.directory / f"{upload_id}{_safe_suffix(PurePath(filename).suffix)}"

    def find(self, upload_id: object) -> Path:
        """The finished upload ``upload_id`` names. A job refers to its file by upload id only, so
        a job written by hand cannot make the importer read (and echo into its error ledger) a
        file outside upload storage, and no server path reaches the API."""
        if not isinstance(upload_id, str) or not upload_id:
            raise NotAnUpload("the job names no uploaded file (data.uploadId)")
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise NotAnUpload(f"{upload_id[:40]!r} is not an upload id")
        root = self.directory.resolve()
        found = [
            p
            for p in self.directory.glob(f"{upload_id}*")
            if p.name == upload_id or (p.name.startswith(f"{upload_id}.") and not p.name.endswith(PARTIAL))
        ]
        if not found or not found[0].is_file():
            raise NotAnUpload(f"the uploaded file {upload_id} is missing from storage")
        path = found[0].resolve()
        if path.parent != root:  # a symlink planted in the store
            raise NotAnUpload(f"upload {upload_id} is not a file in the importer's upload storage")
        return path

    def files(self) -> Iterator[StoredEntry]:
        """The files in storage named like uploads (finished or partial); anything else is left alone."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return
        for entry in entries:
            upload_id = entry.name.partition(".")[0]
            if not _UPLOAD_ID.fullmatch(upload_id):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                modified = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # removed meanwhile
            yield StoredEntry(upload_id, Path(entry.path), entry.name.endswith(PARTIAL), modified)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    upload_id: str
    path: Path
    partial: bool  # an upload still arriving, or cut short by a crash
    modified: float  # st_mtime


def _link_or_copy(source: Path, target: Path) -> None:
    """A second name for ``source``, or a copy where the storage's filesystem has no hard links."""
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        shutil.copyfile(source, target)


def _digest(path: Path, hashed: Hashed | None = None) -> tuple[int, str, bytes]:
    """(size, sha256, first bytes) of a stored file, hashing on from ``hashed`` when given."""
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        size = os.fstat(f.fileno()).st_size
        start = hashed if hashed is not None and hashed.offset <= size else Hashed(0, hashlib.sha256())
        offset, digest = start.offset, start.digest
        f.seek(offset)
        while block := f.read(HASH_BLOCK):
            digest.update(block)
        return f.tell(), digest.hexdigest(), head


def _safe_suffix(suffix: str) -> str:
    cleaned = "".join(c for c in suffix.lower() if c.isalnum() or c == ".")[:12]
    return cleaned if cleaned.startswith(".") and not cleaned.endswith(PARTIAL) else ""


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB"
