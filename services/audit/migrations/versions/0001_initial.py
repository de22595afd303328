"""The append-only event log, its head row, its Merkle tree (interior nodes and signed
checkpoints), and the triggers refusing UPDATE and DELETE on all but the head.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("audit_events", "audit_nodes", "audit_checkpoints")


def sqlite_guard(table: str) -> list[str]:
    # SQLite has no TRUNCATE, and its DELETE without WHERE still fires row triggers.
    return [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ]


# TRUNCATE skips row triggers on PostgreSQL, so it gets its own statement trigger.
POSTGRESQL_FUNCTION = (
    "CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
)


def postgresql_guard(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
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
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_audit_events_patient_sequence", "audit_events", ["patient_id", "sequence"])
    op.create_index("ix_audit_events_org_sequence", "audit_events", ["actor_orgnr_parent", "sequence"])
    op.create_index("ix_audit_events_org_occurred", "audit_events", ["actor_orgnr_parent", "occurred_at"])
    op.create_index("ix_audit_events_hpr_sequence", "audit_events", ["actor_hpr_number", "sequence"])
    op.create_index("ix_audit_events_actor_pid_sequence", "audit_events", ["actor_pid", "sequence"])
    op.create_index(
        "ix_audit_events_flagged_org_sequence",
        "audit_events",
        ["actor_orgnr_parent", "sequence"],
        sqlite_where=sa.text("flagged = 1"),
        postgresql_where=sa.text("flagged"),
    )
    head = op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", SEQUENCE, nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0}])
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("node_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", SEQUENCE, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        statements = [s for table in APPEND_ONLY for s in sqlite_guard(table)]
    else:
        statements = [POSTGRESQL_FUNCTION] + [s for table in APPEND_ONLY for s in postgresql_guard(table)]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION audit_refuse_change() CASCADE")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_nodes")
    op.drop_table("audit_log_head")
    op.drop_table("audit_events")
