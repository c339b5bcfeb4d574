"""job_queues: a job type's queue can be paused

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``POST /api/v1/queues/{type}/pause`` (gRPC ``SetQueuePaused``) stops the dispatch of a type's jobs,
as BullMQ's ``queue.pause()`` does: running jobs finish, new ones wait in pending until resumed.
One row per job type, created here, so pausing is a plain UPDATE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JOB_TYPES = ("geocoding", "voter_import", "parcel_import")


def upgrade() -> None:
    queues = op.create_table(
        "job_queues",
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_by_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("type", name=op.f("pk_job_queues")),
    )
    op.bulk_insert(queues, [{"type": t} for t in JOB_TYPES])


def downgrade() -> None:
    op.drop_table("job_queues")
