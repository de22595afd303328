"""The auditors' escalation signals (docs/escalation.md, "Auditors' signals"): an organisation's
legal entity (`organisations.parent_orgnr`, null for a legal entity itself or one not known), so an
auditor of a legal entity finds the escalations of its points of care; and an index on the events
by kind and time, which the signals read by range.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.add_column("organisations", sa.Column("parent_orgnr", sa.String(9), nullable=True))
    op.create_index("ix_organisations_parent_orgnr", "organisations", ["parent_orgnr"])
    op.create_index("ix_escalation_events_kind_at", "escalation_events", ["kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_escalation_events_kind_at", "escalation_events")
    op.drop_index("ix_organisations_parent_orgnr", "organisations")
    with op.batch_alter_table("organisations") as table:
        table.drop_column("parent_orgnr")
