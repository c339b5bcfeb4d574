"""resumable_uploads: index a user's unfinished uploads

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06

Uploads now belong to the user who created them, who may hold at most UPLOAD_MAX_OPEN_PER_USER
unfinished ones, and may list them (GET /api/v1/uploads). Both look for one user's uploads that no
import has spent; a partial index keeps that one probe however many spent uploads await the sweep.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

INDEX = "ix_resumable_uploads_open_by_creator"


def upgrade() -> None:
    op.create_index(
        INDEX,
        "resumable_uploads",
        ["created_by_id", "created_at"],
        postgresql_where=sa.text("job_id IS NULL"),
        sqlite_where=sa.text("job_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="resumable_uploads")
