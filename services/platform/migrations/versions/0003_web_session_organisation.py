"""The organisation a staff session's token acts for (its `orgnr_parent` and `orgnr_child`
claims), kept with the web session so pages offer that legal entity's points of care and
regions. Patient sessions leave both empty.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("web_sessions") as table:
        table.add_column(sa.Column("orgnr_parent", sa.String(9), nullable=True))
        table.add_column(sa.Column("orgnr_child", sa.String(9), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_sessions") as table:
        table.drop_column("orgnr_child")
        table.drop_column("orgnr_parent")
