"""job_dependencies: a job that runs only after other jobs have completed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

``dependsOn`` on job creation (REST, gRPC ``CreateJob``, the import uploads) names jobs that must
complete first: a geocoding job queued behind the voter import that creates its households, say.
Dispatch skips a pending job while one of its dependencies is unfinished; when one fails or is
cancelled, the coordinator cancels the jobs waiting for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_dependencies",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("depends_on_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_dependencies_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id", name=op.f("pk_job_dependencies")),
    )
    op.create_index("ix_job_dependencies_depends_on", "job_dependencies", ["depends_on_id"])


def downgrade() -> None:
    op.drop_index("ix_job_dependencies_depends_on", table_name="job_dependencies")
    op.drop_table("job_dependencies")
