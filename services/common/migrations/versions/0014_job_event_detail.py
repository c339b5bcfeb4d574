"""job_events.detail and by_id: what each event of a job's history means, and who asked for it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

``GET /api/v1/jobs/{id}/history`` (gRPC ``GetJobHistory``) lists a job's lifecycle events, as
Temporal's event history does: which worker started which attempt, why it was requeued or failed,
who paused or cancelled it. The kind alone cannot say why, so each event may carry a short detail
and the user who asked for the move.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_events", sa.Column("detail", sa.String(length=500), nullable=True))
    op.add_column("job_events", sa.Column("by_id", sa.String(length=32), nullable=True))
    # A running job reports progress every second; its history skips those without reading them.
    op.create_index(
        "ix_job_events_history",
        "job_events",
        ["job_id", "id"],
        postgresql_where=sa.text("kind <> 'progress'"),
        sqlite_where=sa.text("kind <> 'progress'"),
    )


def downgrade() -> None:
    op.drop_index("ix_job_events_history", table_name="job_events")
    with op.batch_alter_table("job_events") as batch:
        batch.drop_column("detail")
        batch.drop_column("by_id")
