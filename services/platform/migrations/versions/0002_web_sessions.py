"""The web pages' login state (gateway/web/sessions.py): pending logins, sessions and the
per-person marks no service keeps. Platform migrations give these tables to every database;
only the gateway's uses them. Session and login ids are stored as SHA-256 only.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "web_logins",
        sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("state_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("console", sa.String(10), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("return_to", sa.String(200), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("web_logins_expires_at", "web_logins", ["expires_at"])
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("console", sa.String(10), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("person_pid", sa.String(11), nullable=False),
        sa.Column("person_name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("acting_for", sa.String(11), nullable=True),
        sa.Column("representation_id", sa.String(64), nullable=True),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("access_expires_at", sa.BigInteger, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=True),
        sa.Column("dpop_jkt", sa.String(64), nullable=False),
        sa.Column("refreshing_until", sa.BigInteger, nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False, unique=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_index("web_sessions_last_seen_at", "web_sessions", ["last_seen_at"])
    op.create_table(
        "web_marks",
        sa.Column("subject_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_marks")
    op.drop_table("web_sessions")
    op.drop_table("web_logins")
