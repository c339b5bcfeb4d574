"""jobs.expires_at: a job not started by then is cancelled (Celery's expires)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

A job created with ``expiresAt`` that has not started by then is cancelled with the reason, so a
geocode queued behind a long backlog does not run once nobody needs it. The partial index holds
only the jobs that carry a time, so the sweep's look-up stays small.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UNSTARTED_WITH_EXPIRY = "expires_at IS NOT NULL AND started_at IS NULL"


def upgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        op.add_column(table, sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_jobs_expiring",
        "jobs",
        ["expires_at"],
        postgresql_where=sa.text(UNSTARTED_WITH_EXPIRY),
        sqlite_where=sa.text(UNSTARTED_WITH_EXPIRY),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_expiring", table_name="jobs")
    for table in ("jobs", "archived_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("expires_at")
