"""Loads seeds/patients.json into the summary store, the names of seeds/organisations.json into its
organisations table, and seeds/legevakts.json and seeds/follow_up_enrolments.json into its
responsibility tables (idempotent: upserts by ids)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .escalation_routing import FollowUpEnrolment
from .news2 import Observation, Spo2Scale
from .okt import MunicipalService, record_violations
from .patients import Patient, Spo2ScaleSetting
from .responsibility import Enrolment, LegevaktEntry, hours_from_json
from .responsibility_store import ResponsibilityStore
from .store import SummaryStore
from .vitals import Measurement, Performer

# Seeded records stand for what the municipalities' EHRs wrote before the demo starts.
SEED_SOURCE = "seed"


def seed(store: SummaryStore, seeds_dir: Path) -> int:
    patients = json.loads((seeds_dir / "patients.json").read_text())
    for entry in patients:
        pid = entry["patient_id"]
        setting = _setting(entry["spo2_scale_setting"])
        services = [_service(pid, s) for s in entry["municipal_services"]]
        measurements = [_measurement(pid, v, setting) for v in entry["vital_signs"]]
        patient = Patient(pid=pid, name=entry["name"], municipality_number=entry["municipality_number"])
        store.upsert(patient, services, measurements, setting)
    organisations = json.loads((seeds_dir / "organisations.json").read_text(encoding="utf-8"))
    store.upsert_organisation_names({o["orgnr"]: o["name"] for o in organisations})
    store.set_organisation_parents({o["orgnr"]: o["parent_orgnr"] for o in organisations})
    responsibility = ResponsibilityStore(store.sessions)
    legevakts = [_legevakt(raw) for raw in json.loads((seeds_dir / "legevakts.json").read_text(encoding="utf-8"))]
    responsibility.replace_legevakts(legevakts)
    enrolments = json.loads((seeds_dir / "follow_up_enrolments.json").read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    for raw in enrolments:
        e = _enrolment(raw)
        responsibility.enrol(
            e.patient_id,
            e.enrolment,
            enrolled_by_hpr=e.enrolled_by_hpr,
            now=now,
            enrolment_id=e.enrolment_id,
            team_name=e.team_name,
            enrolled_by_name=e.enrolled_by_name,
        )
    return len(patients)


def _legevakt(raw: dict[str, Any]) -> LegevaktEntry:
    try:
        return LegevaktEntry(raw["orgnr"], raw["name"], raw["phone"], tuple(raw["municipality_numbers"]))
    except ValueError as exc:
        raise ValueError(f"seeds/legevakts.json: {exc}") from None


def _enrolment(raw: dict[str, Any]) -> Enrolment:
    where = f"follow_up_enrolments {raw['enrolment_id']}"
    try:
        hours = hours_from_json(raw["opening_hours"], raw["closed_days"])
        ended = None if raw["ended_at"] is None else _instant(where, raw["ended_at"])
        enrolment = FollowUpEnrolment(raw["team_orgnr"], hours, _instant(where, raw["started_at"]), ended)
        return Enrolment(
            raw["enrolment_id"],
            raw["patient_id"],
            enrolment,
            raw["enrolled_by_hpr"],
            team_name=raw["team_name"],
            enrolled_by_name=raw["enrolled_by_name"],
        )
    except ValueError as exc:
        raise ValueError(f"seeds/{where}: {exc}") from None


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
        source_system=SEED_SOURCE,
        source_record_id=raw["service_id"],
    )
    if problems := record_violations(service):
        raise ValueError(f"seeds/patients.json {pid} {service.service_id}: {problems}")
    return service


def _measurement(pid: str, raw: dict[str, Any], setting: Spo2ScaleSetting | None) -> Measurement:
    measured_at = _instant(pid, raw["measured_at"])
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
    # Scale 2 only where a clinician had chosen it before the measurement.
    chosen_before = setting is not None and setting.set_at is not None and setting.set_at <= measured_at
    in_force = setting.scale if setting is not None and chosen_before else Spo2Scale.SCALE_1
    if observation.spo2_scale is not in_force:
        raise ValueError(
            f"seeds/patients.json {pid} {raw['measured_at']}: uses SpO2 scale {observation.spo2_scale}, "
            f"but scale {in_force} was in force"
        )
    return Measurement(
        measured_at=measured_at,
        observation=observation,
        pregnant=raw.get("pregnant", False),
        source_system=SEED_SOURCE,
        source_record_id=measurement_key(pid, measured_at),
    )


def measurement_key(pid: str, measured_at: datetime) -> str:
    """A seeded measurement's source id: the patient and the UTC time (to the microsecond when
    it has any). Migration 0002 gives rows from before it the same key (a frozen copy)."""
    at = measured_at.astimezone(UTC)
    fraction = f".{at.microsecond:06d}" if at.microsecond else ""
    return f"{pid}-{at:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def _setting(raw: dict[str, Any] | None) -> Spo2ScaleSetting | None:
    if raw is None:
        return None
    return Spo2ScaleSetting(
        scale=Spo2Scale(raw["scale"]),
        set_by=Performer(raw["set_by_hpr"], raw["set_by_name"]),
        set_at=_instant("spo2_scale_setting", raw["set_at"]),
    )


def _instant(where: str, text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"seeds/patients.json {where}: {text!r} lacks a time zone")
    return value.astimezone(UTC)


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
