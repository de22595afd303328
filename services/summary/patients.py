"""A patient and their summary as the store returns it. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.platform.ids import validate_person_number

from .news2 import Spo2Scale
from .okt import MunicipalService
from .vitals import Measurement, Performer


@dataclass(frozen=True)
class Spo2ScaleSetting:
    """The SpO2 scale in force for a patient: scale 1 unless a clinician chose scale 2 (or back)."""

    scale: Spo2Scale = Spo2Scale.SCALE_1
    set_by: Performer | None = None  # None: the default, nobody chose it
    set_at: datetime | None = None


@dataclass(frozen=True)
class Patient:
    pid: str
    name: str
    municipality_number: str
    spo2_scale: Spo2Scale = Spo2Scale.SCALE_1  # the clinician's choice now in force

    @property
    def birth_date(self) -> date:
        return validate_person_number(self.pid).birth_date


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    services: list[MunicipalService]  # newest start first
    recent: list[Measurement]  # the latest measurements, oldest first (the last one is the latest)
    spo2_setting: Spo2ScaleSetting = Spo2ScaleSetting()

    @property
    def latest(self) -> Measurement | None:
        return self.recent[-1] if self.recent else None
