"""Loads seeds/patients.json into the summary store (idempotent: upserts by ids)."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .news2 import Observation, Spo2Scale
from .okt import MunicipalService, record_violations
from .patients import Patient
from .store import SummaryStore
from .vitals import Measurement


def seed(store: SummaryStore, seeds_dir: Path) -> int:
    patients = json.loads((seeds_dir / "patients.json").read_text())
    for entry in patients:
        pid = entry["patient_id"]
        services = [_service(pid, s) for s in entry["municipal_services"]]
        measurements = [_measurement(pid, v) for v in entry["vital_signs"]]
        patient = Patient(
            pid=pid,
            name=entry["name"],
            municipality_number=entry["municipality_number"],
            spo2_scale=_spo2_scale(pid, measurements),
        )
        store.upsert(patient, services, measurements)
    return len(patients)


def _service(pid: str, raw: dict[str, Any]) -> MunicipalService:
    service = MunicipalService(
        service_id=raw["service_id"],
        iplos_code=raw["iplos_code"],
        start_date=_date(raw["start_date"]),
        end_date=_date(raw["end_date"]),
        service_level=raw["service_level"],
        stay_type=raw["stay_type"],
        weekly_extent=raw["weekly_extent"],
        temporarily_ceased=raw["temporarily_ceased"],
        description=raw["description"],
        provider_orgnr=raw["orgnr_child"],
    )
    if problems := record_violations(service):
        raise ValueError(f"seeds/patients.json {pid} {service.service_id}: {problems}")
    return service


def _measurement(pid: str, raw: dict[str, Any]) -> Measurement:
    measured_at = datetime.fromisoformat(raw["measured_at"])
    if measured_at.tzinfo is None:
        raise ValueError(f"seeds/patients.json {pid}: measured_at {raw['measured_at']!r} lacks a time zone")
    try:
        observation = Observation(
            respiration_rate=raw["respiration_rate"],
            spo2=raw["spo2"],
            spo2_scale=raw["spo2_scale"],
            on_oxygen=raw["on_oxygen"],
            systolic_bp=raw["systolic_bp"],
            pulse=raw["pulse"],
            consciousness=raw["consciousness"],
            temperature=raw["temperature"],
        )
    except ValueError as exc:
        raise ValueError(f"seeds/patients.json {pid} {raw['measured_at']}: {exc}") from None
    return Measurement(measured_at=measured_at.astimezone(UTC), observation=observation)


def _spo2_scale(pid: str, measurements: list[Measurement]) -> Spo2Scale:
    """The seed file records the scale per measurement; the store keeps it per patient (the
    clinician's choice), so a patient's measurements must agree. Scale 1 when none are given."""
    scales = {m.observation.spo2_scale for m in measurements}
    if len(scales) > 1:
        raise ValueError(f"seeds/patients.json {pid}: measurements use more than one SpO2 scale")
    return scales.pop() if scales else Spo2Scale.SCALE_1


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
