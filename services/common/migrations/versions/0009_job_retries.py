"""jobs.retry_of: the failed or cancelled job a job retries

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``POST /api/v1/jobs/{id}/retry`` (gRPC ``RetryJob``) creates a new job with a finished job's type
and input. The unique index keeps one retry per job, so a second click answers the first retry.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        op.add_column(table, sa.Column("retry_of", sa.String(length=32), nullable=True))
    op.create_index("uq_jobs_retry_of", "jobs", ["retry_of"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_jobs_retry_of", table_name="jobs")
    for table in ("jobs", "archived_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("retry_of")
