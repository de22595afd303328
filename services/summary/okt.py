"""Municipal services overview (OKT, docs/summary.md "The patient summary" (OKT)), pure: records, IPLOS codes, activity, validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from services.platform.ids import InvalidIdentifier, validate_org_number
from services.platform.text import TextField, text_violations

# Code list 9151 (Volven), its codes written as the code list writes them: unpadded ("6", "15").
# Texts follow the service list the municipal patient register (KPR) publishes; meanings as in
# docs/summary.md "The patient summary" (OKT). Old clients' zero-padded form ("06") is read as the code
# it pads (normalise_iplos_code); only the official form is stored and exported.
IPLOS_9151: dict[str, str] = {
    "1": "Praktisk bistand – daglige gjøremål",
    "2": "Praktisk bistand – opplæring – daglige gjøremål",
    "3": "Praktisk bistand – brukerstyrt personlig assistanse (BPA)",
    "4": "Dagaktivitetstilbud",
    "5": "Matombringing",
    "6": "Trygghetsalarm",
    "7": "Avlastning – utenfor institusjon",
    "8": "Avlastning – i institusjon",
    "9": "Støttekontakt",
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


def normalise_iplos_code(code: str) -> str:
    """The official form of an IPLOS 9151 code: one leading zero of a two-character code is
    dropped ("06" -> "6"); anything else is returned as given, for record_violations to judge."""
    if len(code) == 2 and code[0] == "0" and code[1] in "123456789":
        return code[1]
    return code


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
    iplos_code: str  # read in the official form (normalise_iplos_code), whichever form was given
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

    def __post_init__(self) -> None:
        # The one place a record's code is read, from a request, a seed or a stored row alike.
        object.__setattr__(self, "iplos_code", normalise_iplos_code(self.iplos_code))

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
        problems["iplos_code"] = "must be a code of IPLOS code list 9151 as the code list writes it (e.g. '6', '15')"
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
