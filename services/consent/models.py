"""Tables of the consent service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.platform.db import UtcDateTime

# SQLite autoincrements only an INTEGER PRIMARY KEY.
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class RuleVersionRow(Base):
    """One version of one sharing rule. Rows are only ever inserted: a change is a new version,
    so the patient's history stays readable. Each version carries the patient's policy revision
    it produced; (patient_id, policy_revision) is unique, so two changes can never claim the
    same revision, and the rules at any revision can be read back exactly."""

    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("patient_id", "policy_revision", name="uq_rule_versions_patient_revision"),)

    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    patient_id: Mapped[str] = mapped_column(String(11))
    rule_type: Mapped[str] = mapped_column(String(20))
    selector_kind: Mapped[str] = mapped_column(String(20))  # "" for no selector
    selector_value: Mapped[str] = mapped_column(String(9))
    categories: Mapped[str] = mapped_column(String(200))  # comma separated names; empty: all
    purposes: Mapped[str] = mapped_column(String(100))  # comma separated names; empty: all
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(500))
    created_by_kind: Mapped[str] = mapped_column(String(20))
    created_by_pid: Mapped[str] = mapped_column(String(11))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_by_client_id: Mapped[str] = mapped_column(String(200))
    created_by_client_name: Mapped[str] = mapped_column(String(200))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    policy_revision: Mapped[int] = mapped_column(BigInteger)
    receipt: Mapped[str] = mapped_column(Text)


class PolicyRevisionRow(Base):
    """A patient's policy revision: raised by one in the transaction of every rule change."""

    __tablename__ = "policy_revisions"

    patient_id: Mapped[str] = mapped_column(String(11), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_patient_sequence", "patient_id", "sequence"),)

    sequence: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[str] = mapped_column(String(11))
    kind: Mapped[str] = mapped_column(String(30))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_pid: Mapped[str] = mapped_column(String(11))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_client_id: Mapped[str] = mapped_column(String(200))
    actor_client_name: Mapped[str] = mapped_column(String(200))
    actor_hpr_number: Mapped[str] = mapped_column(String(9))
    actor_authorization: Mapped[str] = mapped_column(String(10))
    actor_orgnr_parent: Mapped[str] = mapped_column(String(9))
    actor_orgnr_child: Mapped[str] = mapped_column(String(9))
    text: Mapped[str] = mapped_column(String(1000))
    reference: Mapped[str] = mapped_column(String(64))


class RepresentationRow(Base):
    """A representative (guardian, power of attorney) of a patient for a period."""

    __tablename__ = "representations"

    representation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(11), index=True)
    representative_pid: Mapped[str] = mapped_column(String(11), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    patient_name: Mapped[str] = mapped_column(String(200), server_default="")  # population register


class ResidentRow(Base):
    """Where a patient lives, as the legal entity of their municipality (their home
    organisation): it holds their municipal data, records it and shares it within itself."""

    __tablename__ = "residents"

    patient_id: Mapped[str] = mapped_column(String(11), primary_key=True)
    home_orgnr: Mapped[str] = mapped_column(String(9))


class PolicyChangeRow(Base):
    """The change feed of the gateways' decision caches (services/consent/policy_feed.py): one
    row per rule change, written in the change's own transaction. Sequences have no gaps and
    become visible in order (see PolicyChangeHeadRow); rows older than the feed's retention go."""

    __tablename__ = "policy_changes"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    patient_id: Mapped[str] = mapped_column(String(11))
    policy_revision: Mapped[int] = mapped_column(BigInteger)
    committed_at: Mapped[float] = mapped_column(Float, index=True)  # seconds on the database's clock


class PolicyChangeHeadRow(Base):
    """The one row holding the feed's last sequence. A change takes the next sequence with an
    UPDATE of this row, whose lock (PostgreSQL: row lock; SQLite: the write lock) is held until
    the change commits: the next change gets the next sequence only after that commit."""

    __tablename__ = "policy_change_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(BigInteger)


class PolicySubscriberRow(Base):
    """The lease book: one row per WatchPolicyChanges subscription of any consent replica,
    kept until its lease has run out (and a while after, see policy_feed.FORGET_SECONDS)."""

    __tablename__ = "policy_subscribers"

    subscriber_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    replica_id: Mapped[str] = mapped_column(String(32))  # the consent process serving the stream
    name: Mapped[str] = mapped_column(String(100))  # as the gateway called itself, for logs
    since: Mapped[int] = mapped_column(BigInteger)  # the feed's head when it subscribed
    acknowledged: Mapped[int] = mapped_column(BigInteger)  # every change up to here is applied
    granted_until: Mapped[float] = mapped_column(Float, index=True)  # seconds on the database's clock
