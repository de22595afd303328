"""Summary storage (synchronous; the api runs it off the event loop)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .models import MunicipalServiceRow, PatientRow, VitalSignsRow
from .news2 import ACVPU, Observation, Spo2Scale
from .okt import MunicipalService
from .patients import Patient, PatientSummary
from .vitals import Measurement


class UnknownPatient(LookupError):
    pass


class SummaryStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def get_summary(self, patient_id: str) -> PatientSummary:
        """The patient, their services (newest start first) and their latest measurement."""
        with self._sessions() as session:
            row = session.get(PatientRow, patient_id)
            if row is None:
                raise UnknownPatient(patient_id)
            patient = _patient(row)
            services = session.scalars(
                select(MunicipalServiceRow)
                .where(MunicipalServiceRow.patient_id == patient_id)
                .order_by(MunicipalServiceRow.start_date.desc(), MunicipalServiceRow.service_id)
            )
            latest = session.scalars(
                select(VitalSignsRow)
                .where(VitalSignsRow.patient_id == patient_id)
                .order_by(VitalSignsRow.measured_at.desc())
                .limit(1)
            ).first()
            return PatientSummary(
                patient=patient,
                services=[_service(s) for s in services],
                latest=None if latest is None else _measurement(latest, patient.spo2_scale),
            )

    def upsert(
        self, patient: Patient, services: Sequence[MunicipalService], measurements: Sequence[Measurement]
    ) -> None:
        """Inserts or replaces a patient, their services (by service_id) and measurements (by
        patient and time) in one transaction (seeding)."""
        with self._sessions.begin() as session:
            session.merge(
                PatientRow(
                    pid=patient.pid,
                    name=patient.name,
                    municipality_number=patient.municipality_number,
                    spo2_scale=int(patient.spo2_scale),
                )
            )
            for service in services:
                session.merge(_service_row(patient.pid, service))
            for measurement in measurements:
                _upsert_measurement(session, patient.pid, measurement)


def _upsert_measurement(session: Session, patient_id: str, measurement: Measurement) -> None:
    measured_at = measurement.measured_at.astimezone(UTC)
    row = session.scalars(
        select(VitalSignsRow).where(VitalSignsRow.patient_id == patient_id, VitalSignsRow.measured_at == measured_at)
    ).first()
    if row is None:
        row = VitalSignsRow(patient_id=patient_id, measured_at=measured_at)
        session.add(row)
    o = measurement.observation
    row.respiration_rate = o.respiration_rate
    row.spo2 = o.spo2
    row.on_oxygen = o.on_oxygen
    row.systolic_bp = o.systolic_bp
    row.pulse = o.pulse
    row.consciousness = o.consciousness.value
    row.temperature = o.temperature


def _patient(row: PatientRow) -> Patient:
    return Patient(
        pid=row.pid, name=row.name, municipality_number=row.municipality_number, spo2_scale=Spo2Scale(row.spo2_scale)
    )


def _service(row: MunicipalServiceRow) -> MunicipalService:
    return MunicipalService(
        service_id=row.service_id,
        iplos_code=row.iplos_code,
        start_date=row.start_date,
        end_date=row.end_date,
        service_level=row.service_level,
        stay_type=row.stay_type,
        weekly_extent=row.weekly_extent,
        temporarily_ceased=row.temporarily_ceased,
        description=row.description,
        provider_orgnr=row.provider_orgnr,
    )


def _service_row(patient_id: str, service: MunicipalService) -> MunicipalServiceRow:
    return MunicipalServiceRow(
        service_id=service.service_id,
        patient_id=patient_id,
        iplos_code=service.iplos_code,
        start_date=service.start_date,
        end_date=service.end_date,
        service_level=service.service_level,
        stay_type=service.stay_type,
        weekly_extent=service.weekly_extent,
        temporarily_ceased=service.temporarily_ceased,
        description=service.description,
        provider_orgnr=service.provider_orgnr,
    )


def _measurement(row: VitalSignsRow, scale: Spo2Scale) -> Measurement:
    return Measurement(
        measured_at=row.measured_at,
        observation=Observation(
            respiration_rate=row.respiration_rate,
            spo2=row.spo2,
            spo2_scale=scale,
            on_oxygen=row.on_oxygen,
            systolic_bp=row.systolic_bp,
            pulse=row.pulse,
            consciousness=ACVPU(row.consciousness),
            temperature=row.temperature,
        ),
    )
