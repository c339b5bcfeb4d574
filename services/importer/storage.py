"""Uploads streamed to disk: never held whole in memory, size-limited, hashed while they arrive."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cocoa_common import errors
from cocoa_common.ids import new_id


@dataclass(frozen=True, slots=True)
class StoredFile:
    upload_id: str
    path: str
    size_bytes: int
    sha256: str
    head: bytes  # the first 64 KiB, for format detection


HEAD_BYTES = 64 * 1024


class NotAnUpload(ValueError):
    """A job's file is not a finished upload of this store (absent, elsewhere, or still partial)."""


class UploadStore:
    def __init__(self, directory: str, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes

    async def save(self, chunks: AsyncIterator[bytes], suffix: str = "") -> StoredFile:
        """Write chunks to ``<dir>/<id><suffix>``; over the limit the partial file is removed."""
        self.directory.mkdir(parents=True, exist_ok=True)
        upload_id = new_id()
        final = self.directory / f"{upload_id}{_safe_suffix(suffix)}"
        partial = final.with_name(final.name + ".part")
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with open(partial, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise errors.TooLarge(
                            f"File is larger than the {self.max_bytes} byte limit", field="file"
                        )
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredFile(upload_id, str(final), size, digest.hexdigest(), head)

    def resolve(self, path: object) -> Path:
        """The finished upload a job names. Anything else is refused, so a job created with a
        hand-written ``data.path`` cannot make the importer read (and echo into its error
        ledger) a file outside upload storage."""
        if not isinstance(path, str) or not path:
            raise NotAnUpload("the job names no uploaded file (data.path)")
        candidate = Path(path).resolve()
        if candidate.parent != self.directory.resolve() or candidate.name.endswith(".part"):
            raise NotAnUpload(f"{path!r} is not a file in the importer's upload storage")
        if not candidate.is_file():
            raise NotAnUpload(f"the uploaded file is missing from storage ({path})")
        return candidate


def _safe_suffix(suffix: str) -> str:
    cleaned = "".join(c for c in suffix.lower() if c.isalnum() or c == ".")
    return cleaned[:12] if cleaned.startswith(".") else ""
