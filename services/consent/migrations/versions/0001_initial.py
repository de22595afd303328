"""Versioned sharing rules, policy revisions, notifications and representations.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rule_versions",
        sa.Column("rule_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("patient_id", sa.String(11), nullable=False),
        sa.Column("rule_type", sa.String(20), nullable=False),
        sa.Column("selector_kind", sa.String(20), nullable=False),
        sa.Column("selector_value", sa.String(9), nullable=False),
        sa.Column("categories", sa.String(200), nullable=False),
        sa.Column("purposes", sa.String(100), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by_kind", sa.String(20), nullable=False),
        sa.Column("created_by_pid", sa.String(11), nullable=False),
        sa.Column("created_by_name", sa.String(200), nullable=False),
        sa.Column("created_by_client_id", sa.String(200), nullable=False),
        sa.Column("created_by_client_name", sa.String(200), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_revision", sa.BigInteger, nullable=False),
        sa.Column("receipt", sa.Text, nullable=False),
        sa.UniqueConstraint("patient_id", "policy_revision", name="uq_rule_versions_patient_revision"),
    )
    op.create_table(
        "policy_revisions",
        sa.Column("patient_id", sa.String(11), primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("sequence", SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(32), nullable=False, unique=True),
        sa.Column("patient_id", sa.String(11), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(20), nullable=False),
        sa.Column("actor_pid", sa.String(11), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_client_id", sa.String(200), nullable=False),
        sa.Column("actor_client_name", sa.String(200), nullable=False),
        sa.Column("actor_hpr_number", sa.String(9), nullable=False),
        sa.Column("actor_authorization", sa.String(10), nullable=False),
        sa.Column("actor_orgnr_parent", sa.String(9), nullable=False),
        sa.Column("actor_orgnr_child", sa.String(9), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
    )
    op.create_index("ix_notifications_patient_sequence", "notifications", ["patient_id", "sequence"])
    op.create_table(
        "representations",
        sa.Column("representation_id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(11), nullable=False, index=True),
        sa.Column("representative_pid", sa.String(11), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("representations")
    op.drop_index("ix_notifications_patient_sequence", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("policy_revisions")
    op.drop_table("rule_versions")
