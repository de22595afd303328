"""A patient and their summary as the store returns it. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.platform.ids import validate_person_number

from .news2 import Spo2Scale
from .okt import MunicipalService
from .vitals import Measurement


@dataclass(frozen=True)
class Patient:
    pid: str
    name: str
    municipality_number: str
    spo2_scale: Spo2Scale  # the clinician's choice for this patient (scale 2: hypercapnic target)

    @property
    def birth_date(self) -> date:
        return validate_person_number(self.pid).birth_date


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    services: list[MunicipalService]  # newest start first
    latest: Measurement | None  # the most recent measurement, if any
