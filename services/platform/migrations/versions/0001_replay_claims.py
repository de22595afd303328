"""Replay claims: the single-use ids (DPoP proof and internal-assertion jti) every replica of
a component shares (services/platform/replay_store.py).

A logged table, not UNLOGGED: PostgreSQL empties an unlogged table after a crash and never
sends it to a standby, so a crash or any failover (planned ones too) would let every proof and
assertion of the last minute be used once more.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "replay_claims",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("replay_claims_expires_at", "replay_claims", ["expires_at"])


def downgrade() -> None:
    op.drop_table("replay_claims")
