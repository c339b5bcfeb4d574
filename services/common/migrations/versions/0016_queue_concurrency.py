"""job_queues.concurrency: a type's concurrency limit, changed at run time

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

``POST /api/v1/queues/{type}/concurrency`` (gRPC ``SetQueueConcurrency``) sets how many jobs of a
type may run at once, as BullMQ's ``queue.setGlobalConcurrency()``: ops raise it when they add
replicas, without restarting the coordinator. NULL means JOB_CONCURRENCY's value (default 1).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_queues", sa.Column("concurrency", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_queues") as batch:
        batch.drop_column("concurrency")
