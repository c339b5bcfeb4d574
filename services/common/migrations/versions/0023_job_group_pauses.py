"""job_groups: a group of jobs (a campaign, say) can be paused as a whole

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05

Pausing a group's jobs one by one, or in bulk, stops those that exist; a job the group's schedule or
a client creates afterwards would still start. A row here holds every pending job of the group,
of any type, until the group is resumed (BullMQ Pro's pauseGroup); running jobs go on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_groups",
        sa.Column("group_key", sa.String(100), primary_key=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_by_id", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("job_groups")
