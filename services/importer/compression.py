"""Compressed uploads: states distribute voter files zipped (``ncvoter_Statewide.zip``,
``Voter_Extract_YYYYMMDD.zip``), so an upload may be gzip or a zip holding one file. It is recognised
by its first bytes, not its name, and inflated once into storage, so jobs read (and resume in) a
plain file. The inflated size obeys the same limit as an upload: a zip bomb stops there.
"""

from __future__ import annotations

import errno
import gzip
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from cocoa_common import errors

CHUNK = 1024 * 1024
STORAGE_FULL = (errno.ENOSPC, errno.EDQUOT)  # write errors that are the disk's, not the upload's
GZIP = "gzip"
ZIP = "zip"
_MAGIC = ((b"\x1f\x8b", GZIP), (b"PK\x03\x04", ZIP), (b"PK\x05\x06", ZIP))  # the last: an empty zip


@dataclass(frozen=True, slots=True)
class Inflated:
    name: str  # the file's own name: the zip member's, or the upload's without ``.gz``
    size_bytes: int
    head: bytes


def compression_of(head: bytes) -> str | None:
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def inflate(
    kind: str, source: Path, target: Path, filename: str, max_bytes: int, head_bytes: int
) -> Inflated:
    """Write the content of the compressed ``source`` to ``target``; ``filename`` is the upload's name."""
    try:
        with _content(kind, source, filename) as (name, stream), open(target, "wb") as out:
            size, head = 0, b""
            while data := stream.read(CHUNK):
                size += len(data)
                if size > max_bytes:
                    raise errors.TooLarge(
                        f"The file inflates to more than the {max_bytes} byte limit", field="file"
                    )
                if len(head) < head_bytes:
                    head += data[: head_bytes - len(head)]
                out.write(data)
            if head[257:262] == b"ustar":
                raise errors.InvalidArgument(
                    f"The {kind} file holds a tar archive: upload the file itself, or a zip holding only it",
                    field="file",
                )
            return Inflated(name, size, head)
    except OSError as exc:
        if exc.errno in STORAGE_FULL:
            raise  # the disk, not the archive
        raise _damaged(kind, exc) from None
    except (EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
        raise _damaged(kind, exc) from None


def _damaged(kind: str, exc: Exception) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"The {kind} file is damaged or unsupported: {exc}", field="file")


@contextmanager
def _content(kind: str, source: Path, filename: str) -> Iterator[tuple[str, BinaryIO]]:
    if kind == GZIP:
        name = filename[:-3] if filename.lower().endswith(".gz") else filename
        with gzip.open(source, "rb") as stream:
            yield name, stream  # type: ignore[misc]
        return
    with zipfile.ZipFile(source) as archive:
        member = _only_file(archive)
        if member.flag_bits & 0x1:
            raise errors.InvalidArgument(
                f"{member.filename} is encrypted in the zip: upload it unencrypted", field="file"
            )
        with archive.open(member) as stream:
            yield PurePosixPath(member.filename).name, stream  # type: ignore[misc]


def _only_file(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    files = [m for m in archive.infolist() if not m.is_dir() and not _is_metadata(m.filename)]
    if len(files) != 1:
        names = ", ".join(m.filename for m in files[:5]) or "none"
        raise errors.InvalidArgument(
            f"A zip upload must hold exactly one file; this one holds {len(files)} ({names})", field="file"
        )
    return files[0]


def _is_metadata(name: str) -> bool:
    """What macOS and Windows add to zips they make: resource forks and thumbnails, never data."""
    path = PurePosixPath(name)
    return (
        path.parts[0] == "__MACOSX" or path.name.startswith("._") or path.name in (".DS_Store", "Thumbs.db")
    )
