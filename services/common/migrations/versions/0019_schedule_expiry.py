"""job_schedules.expires_after_s: each job a schedule creates must start within this many seconds

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

A nightly geocode that has not started two hours after its time is better skipped: the schedule
gives each job it creates ``expires_at`` = its creation time + this. NULL: the jobs never expire.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_schedules", sa.Column("expires_after_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_schedules") as batch:
        batch.drop_column("expires_after_s")
