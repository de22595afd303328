"""Representations name the patient represented (from the population register), so a
representative sees whom they act for by name.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # Rows stored before this revision get an empty name until the seed (or register) sets one.
    with op.batch_alter_table("representations") as batch:
        batch.add_column(sa.Column("patient_name", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("representations") as batch:
        batch.drop_column("patient_name")
