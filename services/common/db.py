"""Engine and session construction for PostgreSQL (production, tests) and SQLite (``make run``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

logger = logging.getLogger(__name__)
T = TypeVar("T")


def async_url(database_url: str) -> URL:
    """Pick the async driver: psycopg 3 for PostgreSQL, aiosqlite for SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"DATABASE_URL must be postgresql:// or sqlite://, got {url.drivername}://")


def sync_url(database_url: str) -> URL:
    """The synchronous twin of :func:`async_url` (Alembic, command-line tools)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    return url.set(drivername="sqlite")


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the four processes of `make run` read while one writes; busy_timeout queues writers.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# libpq settings for a network that fails silently (a failover, a dead host, a dropped NAT entry):
# without them a connection to a vanished server hangs for the kernel's default of about 15 minutes
# when busy, and for hours when idle in the pool. With them the kernel gives up on it in about a
# minute, the query fails as an outage (retried), and the pool's pre-ping replaces it.
# A DATABASE_URL that sets any of these keeps its own value.
TCP_SETTINGS: dict[str, int] = {
    "connect_timeout": 10,  # seconds to wait for a new connection
    "keepalives": 1,
    "keepalives_idle": 30,  # an idle connection is probed after 30 s of silence,
    "keepalives_interval": 10,  # every 10 s,
    "keepalives_count": 3,  # and dropped after 3 unanswered probes
    "tcp_user_timeout": 60_000,  # ms that sent data may stay unacknowledged
}
# And the server's side of it: a session whose client vanished mid-transaction would hold its row
# locks (and block every retry of its job) until the server noticed. The server probes a silent
# client as the client probes it, and ends a transaction left idle for a minute; no code here
# keeps one idle that long. A DATABASE_URL with its own ``options`` replaces these. PgBouncer refuses
# startup options unless ``options`` is in its ``ignore_startup_parameters``.
SERVER_SETTINGS: dict[str, int] = {
    "idle_in_transaction_session_timeout": 60_000,  # ms
    "tcp_keepalives_idle": 30,
    "tcp_keepalives_interval": 10,
    "tcp_keepalives_count": 3,
}


def _connect_args(url: URL) -> dict[str, int | str]:
    """The TCP and server settings a URL does not set itself."""
    args: dict[str, int | str] = {key: value for key, value in TCP_SETTINGS.items() if key not in url.query}
    if "options" not in url.query:
        args["options"] = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
    return args


def create_engine(database_url: str, *, pool_size: int = 5) -> AsyncEngine:
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args=_connect_args(url)
    )


async def within_deadline(engine: AsyncEngine, seconds: float, work: Awaitable[T]) -> T:
    """``work`` (database calls on ``engine``'s pool), or TimeoutError after ``seconds``. A
    connection silent that long has most likely lost its server, and its idle siblings in the pool
    with it, so the pool starts afresh before the caller tries again."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        logger.warning("the database did not answer within %gs; opening fresh connections", seconds)
        await engine.dispose()
        raise


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching ``text`` anywhere, uppercased, wildcards escaped."""
    escaped = text.strip().upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
