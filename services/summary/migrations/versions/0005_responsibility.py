"""Who is responsible for a patient (docs/escalation.md, "Who is responsible"): the legevakt table
(a legevakt, and the municipalities it serves) and hospital follow-up teams' enrolments of
patients with their opening hours. New tables only: nothing existing changes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "legevakts",
        sa.Column("orgnr", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
    )
    op.create_table(
        "legevakt_municipalities",
        sa.Column("municipality_number", sa.String(4), primary_key=True),
        sa.Column("legevakt_orgnr", sa.String(9), sa.ForeignKey("legevakts.orgnr"), nullable=False, index=True),
    )
    op.create_table(
        "follow_up_enrolments",
        sa.Column("enrolment_id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(11), sa.ForeignKey("patients.pid"), nullable=False, index=True),
        sa.Column("team_orgnr", sa.String(9), nullable=False),
        sa.Column("opening_hours", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_by_hpr", sa.String(9), nullable=False),
        sa.Column("ended_by_hpr", sa.String(9), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("follow_up_enrolments")
    op.drop_table("legevakt_municipalities")
    op.drop_table("legevakts")
