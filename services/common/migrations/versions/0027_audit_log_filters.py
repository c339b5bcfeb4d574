"""audit_logs: indexes for reading the log back by action, user and resource

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06

GET /api/v1/audit-logs lists the log newest first, narrowed by action, user or resource (a job's
own audit trail); each filter gets an index ending in created_at, so a page is an index walk
however long the log grows.
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_audit_logs_action_created_at": ["action", "created_at"],
    "ix_audit_logs_user_created_at": ["user_id", "created_at"],
    "ix_audit_logs_resource": ["resource", "resource_id", "created_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_logs", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="audit_logs")
