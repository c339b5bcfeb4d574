"""voters.row_hash index: a re-import recognises unchanged records by their hash before parsing them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_voters_row_hash", "voters", ["row_hash"])


def downgrade() -> None:
    op.drop_index("ix_voters_row_hash", table_name="voters")
