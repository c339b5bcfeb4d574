"""households link to parcels from both sides: an index for the link, a parcel's households counted live

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Households are linked to parcels by street address without unit within a ZIP, from both sides: a
parcel import links the households already stored, and a voter import links each household it
creates to the parcels already stored, one probe each. An index on the ZIP alone (or on ZIP and
location key) leaves every probe scanning the whole ZIP: with statistics not yet gathered after a
bulk load, the planner looped over 290,000 parcels scanning ~15,000 households each (over nine
minutes). (zip_code, street_name, house_number) finds the building, on both tables; its leading
column still serves the geocoding filter on ZIP.

parcels.household_count is dropped: with links made by two kinds of job that may run at once, a
stored count drifts; a partial index on households.parcel_id (only linked households are in it)
counts a parcel's households when it is read.

parcels.import_item: the file item that wrote the parcel in its import. Duplicate APNs within a file
are found against the table instead of a set of every APN seen, which grew with the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_STREET = ["zip_code", "street_name", "house_number"]


def upgrade() -> None:
    op.drop_index("ix_households_zip_code", table_name="households")
    op.create_index("ix_households_zip_street", "households", _STREET)
    op.drop_index("ix_parcels_zip_location", table_name="parcels")
    op.create_index("ix_parcels_zip_street", "parcels", _STREET)
    linked = sa.text("parcel_id IS NOT NULL")
    op.create_index(
        "ix_households_parcel", "households", ["parcel_id"], postgresql_where=linked, sqlite_where=linked
    )
    with op.batch_alter_table("parcels") as batch:
        batch.drop_column("household_count")
        batch.add_column(sa.Column("import_item", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("parcels") as batch:
        batch.drop_column("import_item")
        batch.add_column(sa.Column("household_count", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE parcels SET household_count ="
        " (SELECT count(*) FROM households h WHERE h.parcel_id = parcels.id)"
    )
    op.drop_index("ix_households_parcel", table_name="households")
    op.drop_index("ix_parcels_zip_street", table_name="parcels")
    op.create_index("ix_parcels_zip_location", "parcels", ["zip_code", "location_key"])
    op.drop_index("ix_households_zip_street", table_name="households")
    op.create_index("ix_households_zip_code", "households", ["zip_code"])
