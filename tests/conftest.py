"""Shared fixtures: a real PostgreSQL database per test (cloned from a migrated template) and
settings pointing at it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import psycopg
import pytest
from faultproxy import FaultProxy, ProxyStarter
from sqlalchemy.engine import make_url

from cocoa_common.migrate import upgrade
from cocoa_common.settings import Settings

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
_counter = itertools.count()


def _admin_conninfo() -> str:
    url = make_url(ADMIN_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _url_for(database: str) -> str:
    return (
        make_url(ADMIN_URL)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    """One migrated database per test run; each test clones it (fast, and proves the migrations)."""
    name = f"cocoa_tpl_{os.getpid()}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        _drop(conn, name)
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(_url_for(name))
    yield name
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        _drop(conn, name)


@pytest.fixture
def database_url(template_database: str) -> Iterator[str]:
    name = f"cocoa_t_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield _url_for(name)
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        _drop(conn, name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Production defaults with the test database and short, test-sized timers."""
    return Settings.from_env({}).with_overrides(
        database_url=database_url,
        heartbeat_timeout_s=3.0,
        heartbeat_interval_s=0.5,
        progress_flush_s=0.2,
        geocoder_providers=("local", "zip_centroid"),
    )


UploadRecorder = Callable[..., str]


@pytest.fixture
def record_upload(database_url: str) -> UploadRecorder:
    """Records an uploads row as the importer does, for tests that create import jobs by hand.
    No file is stored behind it; ``upload_id`` may be any string, to stand for a forged row."""

    def record(kind: str, upload_id: str | None = None) -> str:
        upload_id = upload_id or f"up{next(_counter):023d}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO uploads (id, kind, filename, path, size_bytes, sha256, created_at)"
                " VALUES (%s, %s, 'upload.txt', '', 0, '', now())",
                (upload_id, kind),
            )
        return upload_id

    return record


@pytest.fixture
def voter_upload(record_upload: UploadRecorder) -> str:
    """The id of a recorded voter file upload."""
    return record_upload("voter_import")


@pytest.fixture
def parcel_upload(record_upload: UploadRecorder) -> str:
    """The id of a recorded parcel file upload."""
    return record_upload("parcel_import")


@pytest.fixture
def fault_proxy() -> Iterator[ProxyStarter]:
    """Start a :class:`FaultProxy` in front of ``host:port``; every one started is closed at the end."""
    started: list[FaultProxy] = []

    def start(address: str) -> FaultProxy:
        host, _, port = address.rpartition(":")
        proxy = FaultProxy(int(port), host).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.close()
