"""Residents: each patient's home organisation, for the parent-organisation and data-holder rules.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("patient_id", sa.String(11), primary_key=True),
        sa.Column("home_orgnr", sa.String(9), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("residents")
