"""Sharing rules.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("rule_id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(11), nullable=False, index=True),
        sa.Column("rule_type", sa.String(20), nullable=False),
        sa.Column("categories", sa.String(200), nullable=False),
        sa.Column("hpr_number", sa.String(9), nullable=False),
        sa.Column("org_number", sa.String(9), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("rules")
