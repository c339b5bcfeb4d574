"""jobs.progressed_at: when a processing job last made progress, to requeue one that is alive but stuck

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Heartbeats prove the worker process lives; only progress proves the job moves. The coordinator
requeues a processing job whose last progress is older than JOB_STALL_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        op.add_column(table, sa.Column("progressed_at", sa.DateTime(timezone=True), nullable=True))
    # Jobs running during the upgrade count from now, not from an unknown past.
    op.execute("UPDATE jobs SET progressed_at = CURRENT_TIMESTAMP WHERE status = 'processing'")


def downgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("progressed_at")
