"""Alembic environment: runs migrations synchronously against DATABASE_URL's sync twin."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from cocoa_common.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs need table rebuilds
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
