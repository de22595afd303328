"""The escalation change sequence (docs/escalation.md, "API"): one row per committed change of an
episode, its position handed out in commit order under the sequence head's lock, so that a watcher
reading "after the last position seen" never skips one, on any replica. Existing episodes get one
change each (by opening time). New tables only: nothing existing changes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "escalation_sequence",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "escalation_changes",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column(
            "episode_id", sa.String(64), sa.ForeignKey("escalation_episodes.episode_id"), nullable=False, index=True
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO escalation_changes (position, episode_id, changed_at) "
        "SELECT ROW_NUMBER() OVER (ORDER BY opened_at, episode_id), episode_id, opened_at FROM escalation_episodes"
    )
    op.execute(
        "INSERT INTO escalation_sequence (name, position) "
        "SELECT 'escalations', COALESCE(MAX(position), 0) FROM escalation_changes"
    )


def downgrade() -> None:
    op.drop_table("escalation_changes")
    op.drop_table("escalation_sequence")
