"""A patient and their summary as the store returns it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from services.platform.ids import validate_person_number

from .news2 import Spo2Scale
from .okt import MunicipalService
from .vitals import Measurement, Performer

# Bounds of a patient's municipal services (docs/limits.md). Records are never deleted, only
# ended, so one system could otherwise grow a summary past gRPC's message limit for every reader.
# A patient's open records (not ended before today) are limited on write; a summary or an export
# carries every open record and then the newest ended ones, up to MAX_SUMMARY_SERVICES, and says
# when it left older ones out. A record of maximum size is about 5.5 kB as proto and 6.6 kB as
# FHIR, so 200 take at most ~1.3 MB of the 4 MiB limit and the export's measurements the rest
# (tests/integration/test_summary_limits.py writes them).
MAX_OPEN_SERVICES = 50
MAX_SUMMARY_SERVICES = 200


def is_open(record: MunicipalService, today: date) -> bool:
    """Not ended before today: ongoing, planned, or ending today or later."""
    return record.end_date is None or record.end_date >= today


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

    @cached_property
    def birth_date(self) -> date:
        # Cached: validating the number takes longer than a summary's NEWS2 scoring, which asks often.
        return validate_person_number(self.pid).birth_date


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    services: list[MunicipalService]  # newest start first: every open one, then the newest ended
    recent: list[Measurement]  # the latest measurements, oldest first (the last one is the latest)
    spo2_setting: Spo2ScaleSetting = Spo2ScaleSetting()
    services_truncated: bool = False  # the patient has more records than MAX_SUMMARY_SERVICES
    active_service_count: int = 0  # over all the patient's records, not only those carried

    @property
    def latest(self) -> Measurement | None:
        return self.recent[-1] if self.recent else None
