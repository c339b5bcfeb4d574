"""What counts as an outage rather than a bug: the database or a service unreachable, a connection
dropped, a deadlock, a timeout. A job that hits one is retried after a backoff; an RPC that hits one
answers UNAVAILABLE, which callers retry; the coordinator retries a write it must not lose."""

from __future__ import annotations

import grpc
import psycopg
import redis.exceptions
import sqlalchemy.exc


class Transient(Exception):
    """Raised by a handler when the job cannot go on now but may later (a service is down): it runs
    again from its checkpoint after a backoff, as another attempt."""


# Failures of the infrastructure rather than of the job: the database or a service unreachable, a
# connection dropped, a deadlock or serialization failure (psycopg's are OperationalErrors), a timeout.
# A gRPC error counts only when the service was unavailable or slow (see is_transient).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    Transient,
    ConnectionError,
    TimeoutError,
    psycopg.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether a handler's exception should be retried rather than fail the job."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT_ERRORS)
