"""job_schedules.max_attempts / timeout_seconds: the limits of the jobs a schedule creates

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05

A job may be created with its own ``maxAttempts`` and ``timeoutSeconds``; a schedule keeps them
for each job it creates. NULL means the coordinator's settings when the job is created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_schedules", sa.Column("max_attempts", sa.Integer(), nullable=True))
    op.add_column("job_schedules", sa.Column("timeout_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_schedules") as batch:
        batch.drop_column("timeout_seconds")
        batch.drop_column("max_attempts")
