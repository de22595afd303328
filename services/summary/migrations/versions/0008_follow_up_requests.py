"""One request id names one change of follow-up enrolments (docs/escalation.md, "Who is
responsible: the facts"): `follow_up_requests` keeps every request id of EnrolFollowUp and
EndFollowUp in one key, (team organisation, request id), so the database itself refuses the same
id for an enrolment and an end, also when two replicas race (0007's two unique indexes, one per
column, could not). Existing request ids are copied in, the enrolments' first; an end that reused
an enrolment's id before this migration keeps its column but not the key (a repeat of that end is
then refused as a reuse). The columns of 0007 stay and are still written (a replica of the
previous release reads them).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "follow_up_requests",
        sa.Column("team_orgnr", sa.String(9), primary_key=True),
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("enrolment_id", sa.String(64), sa.ForeignKey("follow_up_enrolments.enrolment_id"), nullable=False),
    )
    op.execute(
        "INSERT INTO follow_up_requests (team_orgnr, request_id, kind, enrolment_id) "
        "SELECT team_orgnr, request_id, 'ENROL', enrolment_id FROM follow_up_enrolments WHERE request_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO follow_up_requests (team_orgnr, request_id, kind, enrolment_id) "
        "SELECT e.team_orgnr, e.ended_request_id, 'END', e.enrolment_id FROM follow_up_enrolments e "
        "WHERE e.ended_request_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM follow_up_requests r "
        "WHERE r.team_orgnr = e.team_orgnr AND r.request_id = e.ended_request_id)"
    )


def downgrade() -> None:
    op.drop_table("follow_up_requests")
