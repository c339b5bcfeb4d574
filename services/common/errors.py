"""Domain errors shared by every service; they carry no transport codes.

    CocoaError
    ├── NotFound            (a job, household ... does not exist)
    ├── InvalidArgument     (bad input; ``field`` names the parameter)
    ├── InvalidTransition   (a status move the lifecycle forbids)
    ├── Conflict            (unique key taken)
    ├── TooLarge            (input over a limit)
    ├── QuotaExceeded       (the caller holds as many of something as one may)
    ├── Corrupted           (bytes that arrived damaged: not the checksum sent with them)
    └── Unavailable         (a dependency is down; retry later)

The gRPC boundary maps them to status codes in :mod:`cocoa_common.grpc_server`; the gateway maps
status codes to HTTP in one table.
"""

from __future__ import annotations


class CocoaError(Exception):
    """Base of every expected, user-facing failure."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(CocoaError):
    """The thing asked for does not exist."""


class InvalidArgument(CocoaError):
    """The request is malformed or out of range."""


class InvalidTransition(CocoaError):
    """The job's current status does not allow this move."""


class Conflict(CocoaError):
    """The request collides with existing state."""


class TooLarge(CocoaError):
    """The input exceeds a limit."""


class QuotaExceeded(CocoaError):
    """The caller already holds as many of something as one caller may (HTTP's 429)."""


class Corrupted(CocoaError):
    """Bytes arrived damaged: their checksum is not the one sent with them."""


class Unavailable(CocoaError):
    """A dependency cannot answer now."""


DEFAULT_PAGE = 50


def page_bounds(limit: int, offset: int, max_limit: int) -> tuple[int, int]:
    """A list call's (limit, offset): 0 means the default page; out-of-range values name the parameter."""
    if limit <= 0:
        limit = DEFAULT_PAGE
    if limit > max_limit:
        raise InvalidArgument(f"limit must be between 1 and {max_limit}", field="limit")
    if offset < 0:
        raise InvalidArgument("offset must not be negative", field="offset")
    return limit, offset
