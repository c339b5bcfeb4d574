"""indexes for import speed: a hash index on voters.row_hash; households indexed only as queried

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

- voters.row_hash: a re-import looks records up by hash before parsing them. Equality is all it needs,
  and a hash index costs a third of a btree's upkeep per inserted voter (measured on 200k rows).
- households.location_key: no query selects households by it; its btree was the dearest index a new
  household paid for (about 6 µs each).
- households.county: the geocoding filter compares upper(county), which a plain index cannot serve.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_voters_row_hash", "voters", ["row_hash"], postgresql_using="hash")
    op.drop_index("ix_households_location_key", table_name="households")
    op.drop_index("ix_households_county", table_name="households")
    op.create_index("ix_households_county_upper", "households", [sa.text("upper(county)")])


def downgrade() -> None:
    op.drop_index("ix_households_county_upper", table_name="households")
    op.create_index("ix_households_county", "households", ["county"])
    op.create_index("ix_households_location_key", "households", ["location_key"])
    op.drop_index("ix_voters_row_hash", table_name="voters")
