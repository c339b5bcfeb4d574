"""voters parcels uploads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:06:23.620451
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "parcels",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("apn", sa.String(length=64), nullable=False),
        sa.Column("house_number", sa.String(length=20), nullable=False),
        sa.Column("predir", sa.String(length=4), nullable=False),
        sa.Column("street_name", sa.String(length=120), nullable=False),
        sa.Column("suffix", sa.String(length=12), nullable=False),
        sa.Column("postdir", sa.String(length=4), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("full_address", sa.String(length=300), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("zip_code", sa.String(length=5), nullable=False),
        sa.Column("location_key", sa.String(length=300), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("land_use", sa.String(length=80), nullable=False),
        sa.Column("units", sa.Integer(), nullable=True),
        sa.Column("centroid_latitude", sa.Float(), nullable=True),
        sa.Column("centroid_longitude", sa.Float(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=True),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("household_count", sa.Integer(), nullable=False),
        sa.Column("import_job_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
    )
    op.create_index("ix_parcels_zip_location", "parcels", ["zip_code", "location_key"], unique=False)
    op.create_index("uq_parcels_source_apn", "parcels", ["source", "apn"], unique=True)
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_table(
        "voters",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("source_voter_id", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("name_suffix", sa.String(length=20), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("registration_date", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("residential_address", sa.String(length=300), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("zip_code", sa.String(length=10), nullable=False),
        sa.Column("county", sa.String(length=80), nullable=False),
        sa.Column("precinct", sa.String(length=40), nullable=False),
        sa.Column("mailing_address", sa.String(length=300), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=True),
        sa.Column("address_flag", sa.String(length=20), nullable=True),
        sa.Column("address_flag_reason", sa.String(length=300), nullable=True),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("import_job_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voters")),
    )
    op.create_index("ix_voters_household_id", "voters", ["household_id"], unique=False)
    op.create_index("uq_voters_source_voter", "voters", ["source", "source_voter_id"], unique=True)


def downgrade() -> None:

    op.drop_index("uq_voters_source_voter", table_name="voters")
    op.drop_index("ix_voters_household_id", table_name="voters")
    op.drop_table("voters")
    op.drop_table("uploads")
    op.drop_index("uq_parcels_source_apn", table_name="parcels")
    op.drop_index("ix_parcels_zip_location", table_name="parcels")
    op.drop_table("parcels")
