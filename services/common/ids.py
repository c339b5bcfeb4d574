"""Collision-resistant, roughly time-ordered opaque ids (cuid-like, 25 characters)."""

from __future__ import annotations

import secrets
import string
import time
from datetime import UTC, datetime

_ALPHABET = string.digits + string.ascii_lowercase


def _base36(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 36)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id() -> str:
    """``c`` + 9 chars of millisecond time + 15 random base36 chars (~77 bits of entropy)."""
    millis = int(time.time() * 1000)
    return "c" + _base36(millis, 9) + "".join(secrets.choice(_ALPHABET) for _ in range(15))


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z suffix, as the contract writes times."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
