"""resumable_uploads: files sent in pieces over several requests (tus), imported once complete

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

A 5 GB voter file sent from a campaign office over a connection that drops had to be sent again
from its first byte. A resumable upload is created with its length, appended to at its offset by
as many requests as it takes, and named by the import once complete. Its bytes live in upload
storage (the file's size is its offset); this table holds what the file alone cannot say.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resumable_uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("created_by_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_resumable_uploads_created_at", "resumable_uploads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_resumable_uploads_created_at", table_name="resumable_uploads")
    op.drop_table("resumable_uploads")
