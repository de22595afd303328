"""The append-only event log, its head row, and the triggers refusing UPDATE and DELETE.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REFUSAL = "audit_events is append-only"

# SQLite has no TRUNCATE, and its DELETE without WHERE still fires row triggers.
SQLITE_GUARD = [
    f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
    f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
]
# TRUNCATE skips row triggers on PostgreSQL, so it gets its own statement trigger.
POSTGRESQL_GUARD = [
    "CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()",
]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("sequence", SEQUENCE, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(20), nullable=True),
        sa.Column("actor_client_id", sa.String(100), nullable=False),
        sa.Column("actor_client_name", sa.String(200), nullable=False),
        sa.Column("actor_pid", sa.String(11), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_hpr_number", sa.String(9), nullable=False),
        sa.Column("actor_authorization", sa.String(10), nullable=False),
        sa.Column("actor_orgnr_parent", sa.String(9), nullable=False),
        sa.Column("actor_orgnr_child", sa.String(9), nullable=False),
        sa.Column("patient_id", sa.String(11), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("data_category", sa.String(40), nullable=False),
        sa.Column("purpose_of_use", sa.String(20), nullable=True),
        sa.Column("access_basis", sa.String(40), nullable=True),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(1000), nullable=False),
        sa.Column("decision_id", sa.String(100), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("justification", sa.String(500), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_events_patient_sequence", "audit_events", ["patient_id", "sequence"])
    head = op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", SEQUENCE, nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0}])
    guard = SQLITE_GUARD if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_GUARD
    for statement in guard:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION audit_events_refuse_change() CASCADE")
    op.drop_table("audit_log_head")
    op.drop_table("audit_events")
