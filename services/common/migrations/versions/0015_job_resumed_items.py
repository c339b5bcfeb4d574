"""jobs.resumed_items: a retry that resumes from its source's checkpoint counts its rate from there

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

``POST /api/v1/jobs/{id}/retry {"fromCheckpoint": true}`` (gRPC ``RetryJob`` with
``from_checkpoint``) makes a job that carries on where a failed or cancelled one stopped, with its
counts. Its items per second (and so its ETA) count only the items done since, not those it took
over, which this column holds.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        op.add_column(
            table, sa.Column("resumed_items", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    for table in ("jobs", "archived_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("resumed_items")
