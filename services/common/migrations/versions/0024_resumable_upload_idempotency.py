"""resumable_uploads.imported_by_id, idempotency_key: a replayed import of a spent upload answers its job

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05

An import sent with an Idempotency-Key and replayed (the client's first request timed out after
the job was made) must answer that first job, as a replayed file upload does. The resumable upload
it named is spent by then, so who imported it and with which key are kept beside the job it made
(keys are the caller's own, as on jobs).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resumable_uploads", sa.Column("imported_by_id", sa.String(32), nullable=True))
    op.add_column("resumable_uploads", sa.Column("idempotency_key", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resumable_uploads") as batch:
        batch.drop_column("idempotency_key")
        batch.drop_column("imported_by_id")
