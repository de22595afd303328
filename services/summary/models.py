"""Tables of the summary service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class PatientRow(Base):
    __tablename__ = "patients"

    pid: Mapped[str] = mapped_column(String(11), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality_number: Mapped[str] = mapped_column(String(4))


class Spo2ScaleRow(Base):
    """A clinician's choice of SpO2 scale, kept as history; the latest is in force (scale 1 without any)."""

    __tablename__ = "spo2_scale_settings"
    __table_args__ = (CheckConstraint("scale IN (1, 2)", name="ck_spo2_scale_settings_scale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.pid"), index=True)
    scale: Mapped[int] = mapped_column(Integer)
    set_by_hpr: Mapped[str] = mapped_column(String(9))
    set_by_name: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MunicipalServiceRow(Base):
    __tablename__ = "municipal_services"
    # The registering system's id is the natural key retries and updates address.
    __table_args__ = (UniqueConstraint("source_system", "source_record_id", name="uq_municipal_services_source"),)

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.pid"), index=True)
    iplos_code: Mapped[str] = mapped_column(String(2))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    service_level: Mapped[str] = mapped_column(String(200))
    stay_type: Mapped[str | None] = mapped_column(String(20))
    weekly_extent: Mapped[str] = mapped_column(String(100))
    temporarily_ceased: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(String(1000))
    provider_orgnr: Mapped[str] = mapped_column(String(9))
    source_system: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(64))


class VitalSignsRow(Base):
    __tablename__ = "vital_signs"
    __table_args__ = (UniqueConstraint("source_system", "source_record_id", name="uq_vital_signs_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.pid"), index=True)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    respiration_rate: Mapped[int] = mapped_column(Integer)
    spo2: Mapped[int] = mapped_column(Integer)
    spo2_scale: Mapped[int] = mapped_column(Integer)
    on_oxygen: Mapped[bool] = mapped_column(Boolean)
    systolic_bp: Mapped[int] = mapped_column(Integer)
    pulse: Mapped[int] = mapped_column(Integer)
    consciousness: Mapped[str] = mapped_column(String(20))
    temperature: Mapped[float] = mapped_column(Float)
    pregnant: Mapped[bool] = mapped_column(Boolean)
    measured_by_hpr: Mapped[str | None] = mapped_column(String(9))
    measured_by_name: Mapped[str | None] = mapped_column(String(200))
    source_system: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(64))


# --- NEWS2 escalation (docs/escalation.md; services/summary/escalation_store.py) -------------------
# No patient data beyond the patient id the episode row needs to find the patient: no name, no
# values. Enums are stored by name. Bounds are the core's (escalation_episodes, escalation_routing).


class EscalationEpisodeRow(Base):
    """An episode's scalar fields. At most one open (not RESOLVED) per patient: a partial unique
    index. `version` grows by one on every saved transition; a save compares it (optimistic), so two
    replicas applying to one episode never lose an update."""

    __tablename__ = "escalation_episodes"
    __table_args__ = (
        Index(
            "uq_escalation_episodes_open_patient",
            "patient_id",
            unique=True,
            sqlite_where=sql_text("state <> 'RESOLVED'"),
            postgresql_where=sql_text("state <> 'RESOLVED'"),
        ),
    )

    episode_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.pid"), index=True)
    source_orgnr: Mapped[str] = mapped_column(String(9))
    origin: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24))
    rules_version: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    chain_exhausted: Mapped[bool] = mapped_column(Boolean)
    undeliverable: Mapped[bool] = mapped_column(Boolean)
    timer_sequence: Mapped[int] = mapped_column(Integer)
    measurements_left_out: Mapped[int] = mapped_column(Integer)
    newest_measured_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    below_trigger_since_ack: Mapped[int] = mapped_column(Integer)
    # The acknowledgement in force and the resolution: positions in escalation_events.
    acknowledgement_seq: Mapped[int | None] = mapped_column(Integer)
    resolution_seq: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)


class EscalationTargetRow(Base):
    """An episode's targets (pending False, at most MAX_TARGETS_PER_EPISODE) and the ones still to
    add on a timeout or decline (pending True, a chain names at most three), each in order."""

    __tablename__ = "escalation_targets"

    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), primary_key=True)
    pending: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    orgnr: Mapped[str] = mapped_column(String(9))
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    added_because: Mapped[str | None] = mapped_column(String(16))
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    declined: Mapped[bool] = mapped_column(Boolean)


class EscalationEventRow(Base):
    """An episode's events, append-only, at most MAX_EVENTS_PER_EPISODE. The request id is indexed:
    a concern's repeat finds the episode it opened."""

    __tablename__ = "escalation_events"
    # The auditors' signals read acknowledgements and exhaustions by time (migration 0009).
    __table_args__ = (Index("ix_escalation_events_kind_at", "kind", "at"),)

    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    level: Mapped[str] = mapped_column(String(16))
    orgnr: Mapped[str] = mapped_column(String(9))
    hpr_number: Mapped[str | None] = mapped_column(String(9))
    person_name: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    outcome: Mapped[str | None] = mapped_column(String(24))
    planned_for: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EscalationMeasurementRow(Base):
    """The measurements an episode lists (the newest MAX_MEASUREMENTS_KEPT). Indexed by measurement
    id: a measurement applied again finds the episode that saw it, even a resolved one."""

    __tablename__ = "escalation_measurements"

    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), primary_key=True)
    measurement_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    arrival: Mapped[int] = mapped_column(Integer)  # the order it came in (ties of measured_at keep it)
    level: Mapped[str | None] = mapped_column(String(16))


class EscalationTimerRow(Base):
    """The durable timers, the sweeper's work list: at most one per kind per episode, identified by
    (episode, kind, sequence). A row exists exactly while the episode holds the timer."""

    __tablename__ = "escalation_timers"

    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class EscalationDeliveryRow(Base):
    """An inbox row: one notification to one organisation. Only the ids, level, role, reason and
    deadline: no patient data (the patient is found from the episode id by a checked read)."""

    __tablename__ = "escalation_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), index=True)
    orgnr: Mapped[str] = mapped_column(String(9), index=True)
    role: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24))
    push: Mapped[bool] = mapped_column(Boolean)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EscalationRecorderMessageRow(Base):
    """What the recorder's organisation was told about an episode ("sent from us")."""

    __tablename__ = "escalation_recorder_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), index=True)
    orgnr: Mapped[str] = mapped_column(String(9), index=True)
    message: Mapped[str] = mapped_column(String(24))
    text_nb: Mapped[str] = mapped_column(String(500))
    text_en: Mapped[str] = mapped_column(String(500))
    phone_numbers: Mapped[str] = mapped_column(String(32))  # comma-separated
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- Who is responsible (docs/escalation.md, "Who is responsible"; services/summary/responsibility_store.py) --


class LegevaktRow(Base):
    """A legevakt of the seeded table."""

    __tablename__ = "legevakts"

    orgnr: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))


class LegevaktMunicipalityRow(Base):
    """Which legevakt serves a municipality (one each; an inter-municipal legevakt has several rows)."""

    __tablename__ = "legevakt_municipalities"

    municipality_number: Mapped[str] = mapped_column(String(4), primary_key=True)
    legevakt_orgnr: Mapped[str] = mapped_column(ForeignKey("legevakts.orgnr"), index=True)


class FollowUpEnrolmentRow(Base):
    """A hospital follow-up team's enrolment of a patient. `opening_hours` is JSON
    (responsibility.hours_to_json), Europe/Oslo wall-clock times; at most MAX_ACTIVE_ENROLMENTS
    active per patient."""

    __tablename__ = "follow_up_enrolments"

    enrolment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.pid"), index=True)
    team_orgnr: Mapped[str] = mapped_column(String(9))
    opening_hours: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    enrolled_by_hpr: Mapped[str] = mapped_column(String(9))
    ended_by_hpr: Mapped[str | None] = mapped_column(String(9))
    # Migration 0007: the team's and the people's names, and the request ids of EnrolFollowUp and
    # EndFollowUp, each unique within the team's organisation (null for seeded rows).
    team_name: Mapped[str] = mapped_column(String(200), server_default="")
    enrolled_by_name: Mapped[str] = mapped_column(String(200), server_default="")
    ended_by_name: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    ended_request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_follow_up_enrolments_request", "team_orgnr", "request_id", unique=True),
        Index("ix_follow_up_enrolments_ended_request", "team_orgnr", "ended_request_id", unique=True),
    )


class FollowUpRequestRow(Base):
    """A request id of EnrolFollowUp (`kind` ENROL) or EndFollowUp (END) and the enrolment it
    made or ended (migration 0008). One key for both: within the team's organisation an id names
    one change, and the database refuses a second use whichever method came first."""

    __tablename__ = "follow_up_requests"

    team_orgnr: Mapped[str] = mapped_column(String(9), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("follow_up_enrolments.enrolment_id"))


class OrganisationRow(Base):
    """An organisation's display name (migration 0007): the seeds' organisations in development,
    a register's in production; escalation targets are shown by it."""

    __tablename__ = "organisations"

    orgnr: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Its legal entity (migration 0009; null for a legal entity itself): an auditor of the legal
    # entity sees its escalation signals.
    parent_orgnr: Mapped[str | None] = mapped_column(String(9), index=True)


class EscalationSequenceRow(Base):
    """The head (last position handed out) of the escalation change sequence: one row, "escalations"."""

    __tablename__ = "escalation_sequence"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class EscalationChangeRow(Base):
    """One committed change of an episode, at its position in the change sequence (the inbox
    watchers read them in order). Only the episode id and the time: no patient data."""

    __tablename__ = "escalation_changes"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    episode_id: Mapped[str] = mapped_column(ForeignKey("escalation_episodes.episode_id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
