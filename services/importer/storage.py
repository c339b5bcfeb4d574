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


def _safe_suffix(suffix: str) -> str:
    cleaned = "".join(c for c in suffix.lower() if c.isalnum() or c == ".")
    return cleaned[:12] if cleaned.startswith(".") else ""
