"""The Alembic migrations build exactly the schema the models declare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine

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
