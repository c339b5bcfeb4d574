"""The Alembic migrations build exactly the schema the models declare."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine

from cocoa_common.migrate import alembic_config, upgrade
from cocoa_common.models import Base


@pytest.fixture
def migrated(database_url: str) -> Iterator[Connection]:
    """A connection to a database cloned from the migrated template."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_migrations_match_the_models(migrated: Connection) -> None:
    context = MigrationContext.configure(migrated, opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


def _add_job(conn: psycopg.Connection, table: str, job_id: str, data: str) -> None:
    archived = ", archived_at" if table == "archived_jobs" else ""
    conn.execute(
        f"INSERT INTO {table} (id, type, status, is_dynamic, priority, processed_items, failed_items, data,"
        f" output_stats, attempt, max_attempts, timeout_seconds, created_at, updated_at{archived})"
        f" VALUES (%s, 'voter_import', 'completed', false, 0, 0, 0, %s, '{{}}', 1, 3, 60, now(), now()"
        f"{', now()' if archived else ''})",
        (job_id, data),
    )


def test_migration_0008_names_the_job_of_each_existing_upload(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "0007")
    with psycopg.connect(database_url, autocommit=True) as conn:
        for upload_id in ("upload-live", "upload-archived", "upload-alone"):
            conn.execute(
                "INSERT INTO uploads (id, kind, filename, path, size_bytes, sha256, created_at)"
                " VALUES (%s, 'voter_import', 'f.txt', '/nowhere', 1, 'ab', now())",
                (upload_id,),
            )
        _add_job(conn, "jobs", "job-live", '{"uploadId": "upload-live"}')
        _add_job(conn, "archived_jobs", "job-archived", '{"uploadId": "upload-archived"}')
        _add_job(conn, "jobs", "job-garbled", "[not an object")
    upgrade(database_url)
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute("SELECT id, job_id FROM uploads").fetchall())
    assert rows == {"upload-live": "job-live", "upload-archived": "job-archived", "upload-alone": None}
