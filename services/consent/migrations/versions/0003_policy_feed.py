"""The decision caches' change feed and lease book, shared by every consent replica.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "policy_changes",
        sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("patient_id", sa.String(11), nullable=False),
        sa.Column("policy_revision", sa.BigInteger, nullable=False),
        sa.Column("committed_at", sa.Float, nullable=False, index=True),
    )
    head = op.create_table(
        "policy_change_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "sequence": 0}])
    op.create_table(
        "policy_subscribers",
        sa.Column("subscriber_id", sa.String(32), primary_key=True),
        sa.Column("replica_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("since", sa.BigInteger, nullable=False),
        sa.Column("acknowledged", sa.BigInteger, nullable=False),
        sa.Column("granted_until", sa.Float, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("policy_subscribers")
    op.drop_table("policy_change_head")
    op.drop_table("policy_changes")
