"""jobs.group_key: jobs of different groups (campaigns, say) take turns at a queue's slots

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

A job created with a ``group`` is dispatched fairly against other groups' jobs of its type: among
due jobs of one priority, the group holding the fewest of the type's running jobs goes first
(BullMQ's groups, Hatchet's round-robin concurrency keys), so one campaign's fifty geocodes do not
hold back another's one. The partial index holds only the pending jobs that name a group, so the
dispatcher learns cheaply whether it needs the fair order at all. Schedules keep the group they
give their jobs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

PENDING_IN_A_GROUP = "group_key IS NOT NULL AND status = 'pending'"


def upgrade() -> None:
    for table in ("jobs", "archived_jobs", "job_schedules"):
        op.add_column(table, sa.Column("group_key", sa.String(100), nullable=True))
    op.create_index(
        "ix_jobs_pending_grouped",
        "jobs",
        ["type"],
        postgresql_where=sa.text(PENDING_IN_A_GROUP),
        sqlite_where=sa.text(PENDING_IN_A_GROUP),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_pending_grouped", table_name="jobs")
    for table in ("jobs", "archived_jobs", "job_schedules"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("group_key")
