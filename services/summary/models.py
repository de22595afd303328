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
    __table_args__ = (CheckConstraint("spo2_scale IN (1, 2)", name="ck_patients_spo2_scale"),)

    pid: Mapped[str] = mapped_column(String(11), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality_number: Mapped[str] = mapped_column(String(4))
    spo2_scale: Mapped[int] = mapped_column(Integer)


class MunicipalServiceRow(Base):
    __tablename__ = "municipal_services"

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


class VitalSignsRow(Base):
    __tablename__ = "vital_signs"
    # One measurement per patient and instant: the natural key re-seeding and retries upsert by.
    __table_args__ = (UniqueConstraint("patient_id", "measured_at", name="uq_vital_signs_patient_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.pid"))
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    respiration_rate: Mapped[int] = mapped_column(Integer)
    spo2: Mapped[int] = mapped_column(Integer)
    on_oxygen: Mapped[bool] = mapped_column(Boolean)
    systolic_bp: Mapped[int] = mapped_column(Integer)
    pulse: Mapped[int] = mapped_column(Integer)
    consciousness: Mapped[str] = mapped_column(String(20))
    temperature: Mapped[float] = mapped_column(Float)
