"""NEWS2 escalation (docs/escalation.md): episodes (one open per patient, a partial unique index),
their targets, events and measurements, the durable timers the sweeper works through, the inbox's
deliveries and the recorder's messages. New tables only: nothing existing changes.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_EPISODE = "escalation_episodes.episode_id"


def upgrade() -> None:
    op.create_table(
        "escalation_episodes",
        sa.Column("episode_id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(11), sa.ForeignKey("patients.pid"), nullable=False, index=True),
        sa.Column("source_orgnr", sa.String(9), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chain_exhausted", sa.Boolean, nullable=False),
        sa.Column("undeliverable", sa.Boolean, nullable=False),
        sa.Column("timer_sequence", sa.Integer, nullable=False),
        sa.Column("measurements_left_out", sa.Integer, nullable=False),
        sa.Column("newest_measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("below_trigger_since_ack", sa.Integer, nullable=False),
        sa.Column("acknowledgement_seq", sa.Integer, nullable=True),
        sa.Column("resolution_seq", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index(
        "uq_escalation_episodes_open_patient",
        "escalation_episodes",
        ["patient_id"],
        unique=True,
        sqlite_where=sa.text("state <> 'RESOLVED'"),
        postgresql_where=sa.text("state <> 'RESOLVED'"),
    )
    op.create_table(
        "escalation_targets",
        sa.Column("episode_id", sa.String(64), sa.ForeignKey(_EPISODE), primary_key=True),
        sa.Column("pending", sa.Boolean, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("orgnr", sa.String(9), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_because", sa.String(16), nullable=True),
        sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined", sa.Boolean, nullable=False),
    )
    op.create_table(
        "escalation_events",
        sa.Column("episode_id", sa.String(64), sa.ForeignKey(_EPISODE), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("orgnr", sa.String(9), nullable=False),
        sa.Column("hpr_number", sa.String(9), nullable=True),
        sa.Column("person_name", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("planned_for", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "escalation_measurements",
        sa.Column("episode_id", sa.String(64), sa.ForeignKey(_EPISODE), primary_key=True),
        sa.Column("measurement_id", sa.String(64), primary_key=True, index=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrival", sa.Integer, nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
    )
    op.create_table(
        "escalation_timers",
        sa.Column("episode_id", sa.String(64), sa.ForeignKey(_EPISODE), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        "escalation_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("episode_id", sa.String(64), sa.ForeignKey(_EPISODE), nullable=False, index=True),
        sa.Column("orgnr", sa.String(9), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("push", sa.Boolean, nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "escalation_recorder_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("episode_id", sa.String(64), sa.ForeignKey(_EPISODE), nullable=False, index=True),
        sa.Column("orgnr", sa.String(9), nullable=False, index=True),
        sa.Column("message", sa.String(24), nullable=False),
        sa.Column("text_nb", sa.String(500), nullable=False),
        sa.Column("text_en", sa.String(500), nullable=False),
        sa.Column("phone_numbers", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "escalation_recorder_messages",
        "escalation_deliveries",
        "escalation_timers",
        "escalation_measurements",
        "escalation_events",
        "escalation_targets",
    ):
        op.drop_table(table)
    op.drop_index("uq_escalation_episodes_open_patient", table_name="escalation_episodes")
    op.drop_table("escalation_episodes")
