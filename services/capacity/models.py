"""Tables of the capacity service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class UnitRow(Base):
    __tablename__ = "units"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str] = mapped_column(String(40))
    orgnr: Mapped[str] = mapped_column(String(9))
    # The legal entity owning the unit; only its systems may report the unit's capacity.
    owner_orgnr: Mapped[str] = mapped_column(String(9))
    municipality_number: Mapped[str] = mapped_column(String(4), index=True)
    region: Mapped[str] = mapped_column(String(100), index=True)


class ResourceRow(Base):
    """The current state of a unit's resource type: a copy of its latest report."""

    __tablename__ = "resources"

    unit_id: Mapped[str] = mapped_column(ForeignKey("units.unit_id"), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_by: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(BigInteger)


class ReportRow(Base):
    """Every report ever accepted; `position` orders them in the capacity change sequence."""

    __tablename__ = "capacity_reports"
    __table_args__ = (
        Index("ix_capacity_reports_unit_time", "unit_id", "reported_at"),
        Index("ix_capacity_reports_unit_resource_position", "unit_id", "resource_type", "position"),
    )

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.unit_id"))
    resource_type: Mapped[str] = mapped_column(String(40))
    total: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_by: Mapped[str] = mapped_column(String(100))


class SequenceRow(Base):
    """The head (last position handed out) of a change sequence: "capacity" or "alerts"."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class OrganisationRow(Base):
    __tablename__ = "organisations"

    orgnr: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_orgnr: Mapped[str | None] = mapped_column(String(9), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    municipality_number: Mapped[str] = mapped_column(String(4))
    region: Mapped[str] = mapped_column(String(100))


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("sender_orgnr", "sender_client_id", "request_id", name="uq_alerts_request"),)

    alert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, unique=True)  # of its RAISED event
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(1000))
    area_region: Mapped[str] = mapped_column(String(100))
    area_municipality_number: Mapped[str] = mapped_column(String(4))
    sender_orgnr: Mapped[str] = mapped_column(String(9), index=True)
    sender_client_id: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str] = mapped_column(String(64))
    request_digest: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class AlertTargetRow(Base):
    """One targeted organisation of an alert and, once given, its acknowledgement."""

    __tablename__ = "alert_targets"

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), primary_key=True)
    orgnr: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ack_position: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ack_client_id: Mapped[str] = mapped_column(String(100), default="")
    ack_hpr_number: Mapped[str] = mapped_column(String(9), default="")
    ack_name: Mapped[str] = mapped_column(String(200), default="")
    ack_note: Mapped[str] = mapped_column(String(500), default="")


class AlertEventRow(Base):
    """Raises and acknowledgements in the order of the alert sequence (what WatchAlerts follows)."""

    __tablename__ = "alert_events"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    orgnr: Mapped[str] = mapped_column(String(9))  # who acknowledged; empty for a raise
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
