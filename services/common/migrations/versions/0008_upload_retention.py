"""uploads know their job, and when their file was removed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Uploaded files (hundreds of MB to GB each) were kept forever. The importer now removes an upload's
file once its job has been finished for UPLOAD_RETENTION_HOURS, keeping the row (name, size,
sha256) with ``deleted_at`` set. ``job_id`` names the newest job that reads the file; existing
uploads get it from their jobs' data (``uploadId``), live or archived.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("job_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    _link_existing_uploads()


def _link_existing_uploads() -> None:
    bind = op.get_bind()
    for table in ("archived_jobs", "jobs"):  # oldest first: the newest job reading a file is named last
        rows = bind.execute(
            sa.text(
                f"SELECT id, data FROM {table}"
                " WHERE type IN ('voter_import', 'import_voters', 'parcel_import') ORDER BY created_at, id"
            )
        )
        for job_id, data in rows.fetchall():
            try:
                upload_id = json.loads(data or "{}").get("uploadId")
            except (ValueError, AttributeError):
                continue  # not an object: this job names no upload
            if isinstance(upload_id, str):
                bind.execute(
                    sa.text("UPDATE uploads SET job_id = :job WHERE id = :upload"),
                    {"job": job_id, "upload": upload_id},
                )


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("job_id")
