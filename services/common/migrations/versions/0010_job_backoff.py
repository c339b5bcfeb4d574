"""jobs.available_at: a job that failed transiently waits out a backoff before it runs again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

A worker that loses the database or the network mid-job reports the outcome RETRY; the coordinator
puts the job back to pending with ``available_at`` = now + JOB_RETRY_BACKOFF_SECONDS * 2^(attempt-1)
(at most JOB_RETRY_BACKOFF_MAX_SECONDS), and dispatch skips it until then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        op.add_column(table, sa.Column("available_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("available_at")
