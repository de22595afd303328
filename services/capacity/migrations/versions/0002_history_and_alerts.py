"""Every report kept as history with its position in the capacity change sequence; the
sequence heads; organisations; alerts with their targets, acknowledgements and events.

Reports stored before this revision become the first history rows (positions 1..n, in the
order they were reported), so the current state and the history agree from the start.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_REPORT_COLUMNS = "unit_id, resource_type, total, available, occupied, status, note, reported_at, reported_by"


def upgrade() -> None:
    op.create_table(
        "capacity_reports",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("unit_id", sa.String(64), sa.ForeignKey("units.unit_id"), nullable=False),
        sa.Column("resource_type", sa.String(40), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("available", sa.Integer, nullable=False),
        sa.Column("occupied", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_capacity_reports_unit_time", "capacity_reports", ["unit_id", "reported_at"])
    op.create_index(
        "ix_capacity_reports_unit_resource_position", "capacity_reports", ["unit_id", "resource_type", "position"]
    )
    op.create_table(
        "sequences",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.add_column("resources", sa.Column("position", sa.BigInteger, nullable=False, server_default="0"))
    op.execute(
        f"INSERT INTO capacity_reports (position, {_REPORT_COLUMNS}) "
        f"SELECT ROW_NUMBER() OVER (ORDER BY reported_at, unit_id, resource_type), {_REPORT_COLUMNS} FROM resources"
    )
    op.execute(
        "UPDATE resources SET position = (SELECT r.position FROM capacity_reports r "
        "WHERE r.unit_id = resources.unit_id AND r.resource_type = resources.resource_type)"
    )
    op.execute(
        "INSERT INTO sequences (name, position) "
        "SELECT 'capacity', COALESCE(MAX(position), 0) FROM capacity_reports "
        "UNION ALL SELECT 'alerts', 0"
    )
    with op.batch_alter_table("resources") as batch:
        batch.alter_column("position", server_default=None)

    op.create_table(
        "organisations",
        sa.Column("orgnr", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_orgnr", sa.String(9), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("municipality_number", sa.String(4), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, unique=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("area_region", sa.String(100), nullable=False),
        sa.Column("area_municipality_number", sa.String(4), nullable=False),
        sa.Column("sender_orgnr", sa.String(9), nullable=False, index=True),
        sa.Column("sender_client_id", sa.String(100), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.UniqueConstraint("sender_orgnr", "sender_client_id", "request_id", name="uq_alerts_request"),
    )
    op.create_table(
        "alert_targets",
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alerts.alert_id"), primary_key=True),
        sa.Column("orgnr", sa.String(9), primary_key=True, index=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_position", sa.BigInteger, nullable=True),
        sa.Column("ack_client_id", sa.String(100), nullable=False),
        sa.Column("ack_hpr_number", sa.String(9), nullable=False),
        sa.Column("ack_name", sa.String(200), nullable=False),
        sa.Column("ack_note", sa.String(500), nullable=False),
    )
    op.create_table(
        "alert_events",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("alerts.alert_id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("orgnr", sa.String(9), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_events")
    op.drop_table("alert_targets")
    op.drop_table("alerts")
    op.drop_table("organisations")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("position")
    op.drop_table("sequences")
    op.drop_table("capacity_reports")
