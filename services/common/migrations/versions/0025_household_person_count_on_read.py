"""households.person_count dropped: a household's voters are counted when it is read

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06

Every import batch used to add and subtract each household's voters in place, a fifth of
PostgreSQL's CPU on a first import, and a count any writer forgot to adjust stayed wrong. The
count is now a correlated count over ``ix_voters_household_id`` in the model (``column_property``),
so it is always right and costs an index probe per household read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.drop_column("person_count")


def downgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("person_count", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE households SET person_count ="
        " (SELECT count(*) FROM voters v WHERE v.household_id = households.id)"
    )
    with op.batch_alter_table("households") as batch:
        batch.alter_column("person_count", server_default=None)
