"""Units and their resources.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("unit_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit_type", sa.String(40), nullable=False),
        sa.Column("orgnr", sa.String(9), nullable=False),
        sa.Column("owner_orgnr", sa.String(9), nullable=False),
        sa.Column("municipality_number", sa.String(4), nullable=False, index=True),
        sa.Column("region", sa.String(100), nullable=False, index=True),
    )
    op.create_table(
        "resources",
        sa.Column("unit_id", sa.String(64), sa.ForeignKey("units.unit_id"), primary_key=True),
        sa.Column("resource_type", sa.String(40), primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("available", sa.Integer, nullable=False),
        sa.Column("occupied", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("resources")
    op.drop_table("units")
