"""households fillfactor 80: geocode and person-count updates become HOT (no index maintenance)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Geocoding rewrites coordinates and importing rewrites person counts on every household; none of
    # those columns is indexed, so with free space on each page PostgreSQL updates them in place.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE households SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE households RESET (fillfactor)")
