"""Municipal services overview (OKT, README "The patient summary" (OKT)), pure: records, IPLOS codes, activity, validity."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from services.platform.ids import InvalidIdentifier, validate_org_number
from services.platform.text import TextField, text_violations

# Code list 9151, written zero-padded as the API does. Texts follow the service list the
# municipal patient register (KPR) publishes; meanings as in README "The patient summary" (OKT).
IPLOS_9151: dict[str, str] = {
    "01": "Praktisk bistand – daglige gjøremål",
    "02": "Praktisk bistand – opplæring – daglige gjøremål",
    "03": "Praktisk bistand – brukerstyrt personlig assistanse (BPA)",
    "04": "Dagaktivitetstilbud",
    "05": "Matombringing",
    "06": "Trygghetsalarm",
    "07": "Avlastning – utenfor institusjon",
    "08": "Avlastning – i institusjon",
    "09": "Støttekontakt",
    "11": "Omsorgsstønad",
    "14": "Bruk av tvang (PU) – planlagte tiltak",
    "15": "Helsetjenester i hjemmet",
    "17": "Dagopphold i institusjon",
    "18": "Tidsbegrenset opphold – utredning/behandling",
    "19": "Tidsbegrenset opphold – habilitering/rehabilitering",
    "20": "Tidsbegrenset opphold – annet",
    "21": "Langtidsopphold i institusjon",
    "22": "Nattopphold i institusjon",
    "23": "Bruk av tvang (PU) – nødsituasjoner",
    "24": "Helsehjelp med tvang",
    "25": "Kommunalt øyeblikkelig hjelp døgnopphold (KAD)",
    "26": "Lokaliseringsteknologi (GPS)",
    "27": "Elektronisk medisineringsstøtte",
    "28": "Digitalt tilsyn",
    "29": "Bolig kommunen disponerer til helse- og omsorgsformål",
}


class StayType(Enum):
    """Stay types as OKT writes them; member names match the proto's STAY_TYPE_* values."""

    DAY = "dagopphold"
    SHORT_TERM = "korttidsopphold"


_STAY_TYPES = frozenset(s.value for s in StayType)

# Column widths of models.py, so a valid record always fits the database.
TEXT_FIELDS = {
    "service_id": TextField(64),
    "service_level": TextField(200),
    "weekly_extent": TextField(100),
    "description": TextField(1000, multiline=True),
}


@dataclass(frozen=True)
class MunicipalService:
    """One OKT record. `start_date` is None only in an incoming record that is yet to be validated."""

    service_id: str
    iplos_code: str
    start_date: date | None
    end_date: date | None
    service_level: str
    stay_type: str | None  # as OKT writes it: "dagopphold", "korttidsopphold", or None when not a stay
    weekly_extent: str
    temporarily_ceased: bool
    description: str
    provider_orgnr: str
    source_system: str = ""  # client id of the registering system
    source_record_id: str = ""  # the registering system's own id

    @property
    def iplos_display(self) -> str:
        return IPLOS_9151.get(self.iplos_code, "")

    @property
    def stay(self) -> StayType | None:
        """The stay type as an enum; only valid records (see record_violations) are asked."""
        return None if self.stay_type is None else StayType(self.stay_type)


def is_active(record: MunicipalService, today: date) -> bool:
    """Started, not ended and not on hold. The end date is the service's last day, so it still counts."""
    started = record.start_date is not None and record.start_date <= today
    ended = record.end_date is not None and record.end_date < today
    return started and not ended and not record.temporarily_ceased


def record_violations(record: MunicipalService) -> dict[str, str]:
    """Field violations of a record about to be written; empty when it is valid."""
    problems: dict[str, str] = {}
    if not record.service_id:
        problems["service_id"] = "required"
    if record.iplos_code not in IPLOS_9151:
        problems["iplos_code"] = "must be a code of IPLOS code list 9151, zero-padded (e.g. '06')"
    if record.start_date is None:
        problems["start_date"] = "required"
    elif record.end_date is not None and record.end_date < record.start_date:
        problems["end_date"] = "must not be before start_date"
    if record.stay_type is not None and record.stay_type not in _STAY_TYPES:
        problems["stay_type"] = "must be dagopphold or korttidsopphold, or unset when not a stay"
    try:
        validate_org_number(record.provider_orgnr)
    except InvalidIdentifier as exc:
        problems["provider_orgnr"] = str(exc)
    problems |= text_violations({name: (getattr(record, name), spec) for name, spec in TEXT_FIELDS.items()})
    return problems
