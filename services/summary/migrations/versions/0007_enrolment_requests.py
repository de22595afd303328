"""Follow-up enrolments over the API (docs/escalation.md, "API"): the team's name, the enrolling
and ending health persons' names, and the request ids of EnrolFollowUp and EndFollowUp (unique
within the team's organisation); and the organisations' display names for escalation targets.
Existing enrolments keep working: empty names, no request ids.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


_TABLE = "follow_up_enrolments"
_NAMES = ("team_name", "enrolled_by_name", "ended_by_name", "request_id", "ended_request_id")


def upgrade() -> None:
    # Existing rows: empty names, no request ids.
    op.add_column(_TABLE, sa.Column("team_name", sa.String(200), nullable=False, server_default=""))
    op.add_column(_TABLE, sa.Column("enrolled_by_name", sa.String(200), nullable=False, server_default=""))
    op.add_column(_TABLE, sa.Column("ended_by_name", sa.String(200), nullable=True))
    op.add_column(_TABLE, sa.Column("request_id", sa.String(64), nullable=True))
    op.add_column(_TABLE, sa.Column("ended_request_id", sa.String(64), nullable=True))
    # Nulls are distinct in a unique index (SQLite and PostgreSQL): seeded rows have no request id.
    op.create_index("ix_follow_up_enrolments_request", _TABLE, ["team_orgnr", "request_id"], unique=True)
    op.create_index("ix_follow_up_enrolments_ended_request", _TABLE, ["team_orgnr", "ended_request_id"], unique=True)
    op.create_table(
        "organisations",
        sa.Column("orgnr", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("organisations")
    op.drop_index("ix_follow_up_enrolments_ended_request", _TABLE)
    op.drop_index("ix_follow_up_enrolments_request", _TABLE)
    with op.batch_alter_table(_TABLE) as table:
        for name in reversed(_NAMES):
            table.drop_column(name)
