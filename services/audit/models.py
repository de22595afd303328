"""Tables of the audit service: the append-only event log, its head, and its Merkle tree
(interior nodes and signed checkpoints); all but the head are append-only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, Text, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.platform.db import UtcDateTime

# INTEGER on SQLite so the key is the rowid; 64-bit elsewhere, like the proto's int64.
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class AuditEventRow(Base):
    """One stored event. Rows are never changed or deleted (database triggers refuse it);
    `sequence` is dense and follows commit order: the event is leaf `sequence - 1` of the log's
    Merkle tree, and `leaf_hash` that leaf's hash (services.audit.leaves), stored with it. The leaves are the tree's level 0: audit_nodes holds only the levels above."""

    __tablename__ = "audit_events"
    # Readers page newest first by sequence: a patient's log, and auditors' searches, which always
    # name their organisation and often a person, a time window or only flagged events.
    __table_args__ = (
        Index("ix_audit_events_patient_sequence", "patient_id", "sequence"),
        Index("ix_audit_events_org_sequence", "actor_orgnr_parent", "sequence"),
        Index("ix_audit_events_org_occurred", "actor_orgnr_parent", "occurred_at"),
        Index("ix_audit_events_hpr_sequence", "actor_hpr_number", "sequence"),
        Index("ix_audit_events_actor_pid_sequence", "actor_pid", "sequence"),
        # Partial: flagged events are few. Each dialect's predicate is the one its queries spell.
        Index(
            "ix_audit_events_flagged_org_sequence",
            "actor_orgnr_parent",
            "sequence",
            sqlite_where=text("flagged = 1"),
            postgresql_where=text("flagged"),
        ),
    )

    sequence: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=False)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor_kind: Mapped[str | None] = mapped_column(String(20))
    actor_client_id: Mapped[str] = mapped_column(String(100))
    actor_client_name: Mapped[str] = mapped_column(String(200))
    actor_pid: Mapped[str] = mapped_column(String(11))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_hpr_number: Mapped[str] = mapped_column(String(9))
    actor_authorization: Mapped[str] = mapped_column(String(10))
    actor_orgnr_parent: Mapped[str] = mapped_column(String(9))
    actor_orgnr_child: Mapped[str] = mapped_column(String(9))
    patient_id: Mapped[str] = mapped_column(String(11))
    action: Mapped[str] = mapped_column(String(20))
    data_category: Mapped[str] = mapped_column(String(40))
    purpose_of_use: Mapped[str | None] = mapped_column(String(20))
    access_basis: Mapped[str | None] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str] = mapped_column(String(1000))
    decision_id: Mapped[str] = mapped_column(String(100))
    trace_id: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(200))
    flagged: Mapped[bool] = mapped_column(Boolean)
    justification: Mapped[str] = mapped_column(String(500))
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The salts of a version-2 leaf's commitments (services.audit.leaves); NULL for an event
    # stored as version 1. Never logged, never shown but in the auditor's proof openings.
    actor_pid_salt: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    justification_salt: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # The decision's obligations by name, joined by "," ("" for none and for version-1 events).
    obligations: Mapped[str] = mapped_column(String(100), server_default="")


class LogHeadRow(Base):
    """The single row holding the number of sequences handed out, all of them committed. Every
    append reserves its sequences by updating it, and holds its lock until the commit: this
    serialises appenders across processes and replicas only for the reservation, the insert and
    the commit, and makes sequences dense and in commit order (a database sequence is neither on
    PostgreSQL: values are taken before commit and lost on rollback). The tree may lag it: the
    latest checkpoint's size is how many events the integrator has added to the tree."""

    __tablename__ = "audit_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(SEQUENCE)


class NodeRow(Base):
    """A complete interior node of the Merkle tree (merkle.Node): the leaves
    [node_index * 2**level, (node_index + 1) * 2**level), level >= 1. Written once, when its last
    leaf is appended; never changed (triggers refuse it)."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class CheckpointRow(Base):
    """A signed checkpoint (C2SP tlog-checkpoint note) of the tree of `size` leaves. Each one
    extends the one before; never changed or deleted (triggers refuse it)."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
