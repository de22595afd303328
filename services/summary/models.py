"""Tables of the summary service."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
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
    __table_args__ = (
        UniqueConstraint("source_system", "source_record_id", name="uq_municipal_services_source"),
    )

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
