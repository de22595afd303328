"""Leaf version 2: each event's salts for the commitments to its actor's person number and its
justification, and the decision's obligations (services/audit/leaves.py). Events stored before
keep NULL salts and no obligations, and stay version 1.

Adding a nullable column, or one with a constant default, changes no row (no UPDATE runs, so the
append-only triggers are not concerned; PostgreSQL 11+ keeps the default in the catalogue) on
SQLite and PostgreSQL alike.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("actor_pid_salt", sa.LargeBinary(32), nullable=True))
    op.add_column("audit_events", sa.Column("justification_salt", sa.LargeBinary(32), nullable=True))
    op.add_column("audit_events", sa.Column("obligations", sa.String(100), nullable=False, server_default=""))


def downgrade() -> None:
    # Destroys what opens version-2 leaves: their events no longer hash to their leaves. ALTER
    # TABLE DROP COLUMN (SQLite 3.35+) keeps the table and so its append-only triggers.
    op.drop_column("audit_events", "obligations")
    op.drop_column("audit_events", "justification_salt")
    op.drop_column("audit_events", "actor_pid_salt")
