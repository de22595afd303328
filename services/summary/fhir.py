"""One patient's summary as a FHIR R4 Bundle (type collection) of JSON-ready dicts (issue 6). Pure.

Resources
- Patient: identifier by person-number kind, name (text), birthDate.
- EpisodeOfCare per OKT record (HL7 Norway maps OKT to EpisodeOfCare, docs/summary.md "The patient summary" (OKT)): status from
  okt.is_active (active; finished when ended; planned before the start; onhold when temporarily
  ceased), type IPLOS 9151, period (the end date is the last day, as a FHIR date end is inclusive),
  managingOrganization by organisation number, identifiers (this system's service id and the
  registering system's record id), and the OKT fields R4 has no element for (service level, stay
  type, weekly extent, description) as extensions under LOCAL.
- Per measurement: a vital-signs panel Observation (LOINC 85353-1) holding the measurement's
  identifiers and hasMember its vital signs; one Observation per vital sign, each with the value
  NEWS2 charted (the temperature rounded to one decimal) (the SpO2 one with a component saying
  whether the patient was on supplemental oxygen; blood pressure as R4's 85354-9 panel with the
  systolic 8480-6 component and a diastolic 8462-4 one absent as unsupported); one for ACVPU consciousness;
  and one NEWS2 Observation derivedFrom those: the total (valueInteger), the clinical risk band as
  interpretation, a component per parameter score and one for the red score. When NEWS2 does not
  apply (under 16, pregnancy) the NEWS2 Observation has no value but dataAbsentReason
  not-applicable, the reason coded in a component and said in a note: a reader looking for the
  patient's NEWS2 finds why there is none instead of nothing.

Codes
- Authoritative codes: LOINC 9279-1, 59408-5, 85354-9, 8480-6, 8462-4, 8867-4, 8310-5; SNOMED CT UK
  1104051000000101 (NEWS2 total); IPLOS code list 9151; the Norwegian identifier systems as HL7 Norway's
  no-basis profiles name them (services/platform/naming_systems.py).
- Authoritative from FHIR R4 core: LOINC 85353-1 (vital-signs panel) and 2708-6 (the code the
  oxygen saturation profile requires), UCUM units, observation-category, data-absent-reason.
- Local, defined here under LOCAL: ACVPU levels, supplemental oxygen, NEWS2 parameter scores,
  clinical risk bands, red score, why a measurement is not scored, OKT stay type. No published
  code fits them exactly (AVPU answer lists lack "new confusion"; the inhaled-oxygen LOINC codes
  need a flow or concentration this data does not hold), so none is guessed.

Withheld categories (None) contribute no entries. fullUrls are urn:uuid, uuid5 of the records' ids,
so the same data gives the same bundle; being derived from the person number they are as
sensitive as it (the Patient carries it anyway). Resource ids repeat the fullUrl's uuid.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from services.platform.naming_systems import (
    NAMING_SYSTEMS,
    IdentifierType,
    hpr_identifier,
    organisation_identifier,
    person_identifier,
)

from .news2 import ACVPU, News2Result, Observation, Risk, Spo2Scale, chart_temperature
from .okt import MunicipalService, is_active
from .patients import Patient
from .vitals import Assessment, Measurement, NotScored, Performer

__all__ = [
    "concept",
    "entry",
    "full_url",
    "instant",
    "news2_observation_full_url",
    "patient_bundle",
    "patient_full_url",
    "practitioner_reference",
]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IPLOS = "urn:oid:2.16.578.1.12.4.1.1.9151"
# Norwegian identifier systems, from the one table (services/platform/naming_systems.py).
FNR = NAMING_SYSTEMS[IdentifierType.FNR]
DNR = NAMING_SYSTEMS[IdentifierType.DNR]
HNR = NAMING_SYSTEMS[IdentifierType.HNR]
HPR = NAMING_SYSTEMS[IdentifierType.HPR]
ORGNR = NAMING_SYSTEMS[IdentifierType.ENH]
SOURCE_SYSTEM = "urn:samhandling:source:"  # + the registering client's id: its own record ids

LOCAL = "https://samhandling.example/fhir"
SERVICE_ID = f"{LOCAL}/NamingSystem/municipal-service-id"
MEASUREMENT_ID = f"{LOCAL}/NamingSystem/measurement-id"
SERVICE_LEVEL = f"{LOCAL}/StructureDefinition/okt-service-level"  # valueString
STAY_TYPE = f"{LOCAL}/StructureDefinition/okt-stay-type"  # valueCoding from STAY_TYPE_CODES
WEEKLY_EXTENT = f"{LOCAL}/StructureDefinition/okt-weekly-extent"  # valueString
DESCRIPTION = f"{LOCAL}/StructureDefinition/okt-description"  # valueString
STAY_TYPE_CODES = f"{LOCAL}/CodeSystem/okt-stay-type"  # OKT's own values: dagopphold, korttidsopphold
OBSERVATION_CODES = f"{LOCAL}/CodeSystem/observation"  # acvpu, supplemental-oxygen, news2-red-score, ...
ACVPU_CODES = f"{LOCAL}/CodeSystem/acvpu"  # news2.ACVPU member names
NEWS2_PARAMETER = f"{LOCAL}/CodeSystem/news2-parameter"  # one code per row of the NEWS2 chart
NEWS2_RISK = f"{LOCAL}/CodeSystem/news2-clinical-risk"  # news2.Risk member names
NOT_SCORED_CODES = f"{LOCAL}/CodeSystem/news2-not-scored-reason"  # vitals.NotScored member names
# What a reader must know about what is *not* in the Bundle: categories the patient's rules
# withhold (named, never filled) and measurements beyond the export's limit.
EXPORT_TAGS = f"{LOCAL}/CodeSystem/export"

NEWS2_CODE = {
    "coding": [
        {
            "system": SNOMED,
            "code": "1104051000000101",
            "display": "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
        }
    ]
}
BLOOD_PRESSURE_CODE = {
    "coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}]
}
DIASTOLIC_CODE = {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]}
PANEL_CODE = {
    "coding": [
        {
            "system": LOINC,
            "code": "85353-1",
            "display": "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel",
        }
    ]
}
ACVPU_CODE = {"coding": [{"system": OBSERVATION_CODES, "code": "acvpu", "display": "Level of consciousness (ACVPU)"}]}


@dataclass(frozen=True)
class _Vital:
    field: str  # the news2.Observation field; also this vital's part of its fullUrl
    codes: tuple[tuple[str, str], ...]  # LOINC code and display
    unit: str
    ucum: str


VITALS = (
    _Vital("respiration_rate", (("9279-1", "Respiratory rate"),), "/min", "/min"),
    # 2708-6 is the code FHIR's oxygen saturation profile requires; 59408-5 (the Norwegian vital-signs coding) adds "by pulse oximetry".
    _Vital(
        "spo2",
        (
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ),
        "%",
        "%",
    ),
    # Exported as FHIR's blood pressure panel (85354-9) holding systolic (and diastolic) as components.
    _Vital("systolic_bp", (("8480-6", "Systolic blood pressure"),), "mmHg", "mm[Hg]"),
    _Vital("pulse", (("8867-4", "Heart rate"),), "/min", "/min"),
    _Vital("temperature", (("8310-5", "Body temperature"),), "°C", "Cel"),
)

_ACVPU_DISPLAYS = {
    ACVPU.ALERT: "Alert",
    ACVPU.NEW_CONFUSION: "New confusion",
    ACVPU.VOICE: "Responds to voice",
    ACVPU.PAIN: "Responds to pain",
    ACVPU.UNRESPONSIVE: "Unresponsive",
}
_RISK_DISPLAYS = {
    Risk.LOW: "Low clinical risk",
    Risk.LOW_MEDIUM: "Low–medium clinical risk (red score)",
    Risk.MEDIUM: "Medium clinical risk (urgent response threshold)",
    Risk.HIGH: "High clinical risk (emergency response threshold)",
}
_NOT_SCORED = {
    NotScored.UNDER_16: (
        "Under 16 years",
        "NEWS2 is not validated for patients under 16 years (RCP 2017): not scored.",
    ),
    NotScored.PREGNANT: ("Pregnant", "NEWS2 is not validated in pregnancy (RCP 2017): not scored."),
}

# A measurement's part of its Observations' fullUrls when it is stored (has an id).
_STORED = "id"
# uuid5 namespace of this export's fullUrls.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{LOCAL}/summary-bundle")


def patient_bundle(
    patient: Patient,
    *,
    services: Sequence[MunicipalService] | None,
    measurements: Sequence[tuple[Measurement, Assessment]] | None,
    today: date,
    generated_at: datetime,
    truncated: bool = False,
    services_truncated: bool = False,
) -> dict:
    """The patient's Bundle; a category passed as None was withheld and contributes nothing but
    a `meta.tag` naming it, as does `truncated` (only the newest measurements are in it) and
    `services_truncated` (the open and the newest ended services are in it).

    `today` (the Norwegian day) decides each service's status; `generated_at` is the timestamp.
    """
    patient_url = patient_full_url(patient.pid)
    entries = [entry(patient_url, _patient(patient))]
    for service in services or ():
        url = full_url("EpisodeOfCare", patient.pid, service.service_id)
        entries.append(entry(url, _episode_of_care(service, patient_url, today)))
    occurrences: Counter[tuple[str, str]] = Counter()
    for measurement, assessment in measurements or ():
        # Stored measurements have an id; otherwise the time (and its occurrence) names it.
        key = (
            (_STORED, measurement.measurement_id)
            if measurement.measurement_id
            else ("at", instant(measurement.measured_at))
        )
        occurrences[key] += 1
        entries.extend(
            _measurement_entries(measurement, assessment, patient.pid, patient_url, (*key, str(occurrences[key])))
        )
    bundle: dict[str, object] = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": instant(generated_at),
        "entry": entries,
    }
    withheld = [
        name
        for name, part in (("withheld-MUNICIPAL_SERVICES", services), ("withheld-VITAL_SIGNS", measurements))
        if part is None
    ]
    truncations = [
        *(["truncated-VITAL_SIGNS"] if truncated else []),
        *(["truncated-MUNICIPAL_SERVICES"] if services_truncated else []),
    ]
    if tags := [*withheld, *truncations]:
        bundle["meta"] = {"tag": [{"system": EXPORT_TAGS, "code": code} for code in tags]}
    # Resources share sub-dicts (subject, codes) while built; a JSON round trip (unlike deepcopy, which
    # keeps aliases) gives the caller a tree it may change freely, of JSON types only.
    return json.loads(json.dumps(bundle))


def _patient(patient: Patient) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [person_identifier(patient.pid)],
        "name": [{"text": patient.name}],
        "birthDate": patient.birth_date.isoformat(),
    }


def _episode_status(service: MunicipalService, today: date) -> str:
    if is_active(service, today):
        return "active"
    if service.end_date is not None and service.end_date < today:
        return "finished"
    if service.start_date is not None and service.start_date > today:
        return "planned"
    return "onhold"  # started, not ended, yet not active: temporarily ceased


def _episode_of_care(service: MunicipalService, patient_url: str, today: date) -> dict:
    if service.start_date is None:
        raise ValueError(f"municipal service {service.service_id} has no start date")  # only unvalidated input
    identifiers = [{"system": SERVICE_ID, "value": service.service_id}]
    if service.source_system and service.source_record_id:
        identifiers.append({"system": _source(service.source_system), "value": service.source_record_id})
    extensions: list[dict[str, object]] = (
        [{"url": SERVICE_LEVEL, "valueString": service.service_level}] if service.service_level else []
    )
    if service.stay is not None:
        coding = {"system": STAY_TYPE_CODES, "code": service.stay.value, "display": service.stay.value.capitalize()}
        extensions.append({"url": STAY_TYPE, "valueCoding": coding})
    if service.weekly_extent:
        extensions.append({"url": WEEKLY_EXTENT, "valueString": service.weekly_extent})
    if service.description:
        extensions.append({"url": DESCRIPTION, "valueString": service.description})
    period = {"start": service.start_date.isoformat()}
    if service.end_date is not None:
        period["end"] = service.end_date.isoformat()
    return {
        "resourceType": "EpisodeOfCare",
        **({"extension": extensions} if extensions else {}),
        "identifier": identifiers,
        "status": _episode_status(service, today),
        "type": [concept(IPLOS, service.iplos_code, service.iplos_display or None)],
        "patient": {"reference": patient_url},
        "managingOrganization": {
            "type": "Organization",
            "identifier": organisation_identifier(service.provider_orgnr),
        },
        "period": period,
    }


def _measurement_entries(
    measurement: Measurement, assessment: Assessment, pid: str, patient_url: str, key: tuple[str, ...]
) -> list[dict]:
    def url(part: str) -> str:
        return _observation_url(pid, key, part)

    observation = measurement.observation
    header = {"subject": {"reference": patient_url}, "effectiveDateTime": instant(measurement.measured_at)}
    performer = {"performer": [practitioner_reference(measurement.measured_by)]} if measurement.measured_by else {}
    charted = _charted_values(observation, assessment)
    vitals: list[tuple[str, dict[str, Any]]] = []
    for vital in VITALS:
        code = {"coding": [{"system": LOINC, "code": c, "display": d} for c, d in vital.codes]}
        quantity = {"value": charted[vital.field], "unit": vital.unit, "system": UCUM, "code": vital.ucum}
        resource: dict[str, Any] = {"resourceType": "Observation", "status": "final", "category": [_vital_signs()]}
        if vital.field == "systolic_bp":
            # FHIR R4's vital-signs profile for blood pressure: the 85354-9 panel, systolic and
            # diastolic as components. This suite records no diastolic (NEWS2 scores the systolic
            # only), so that component says why it has no value.
            resource |= {
                "code": BLOOD_PRESSURE_CODE,
                **header,
                **performer,
                "component": [
                    {"code": code, "valueQuantity": quantity},
                    {
                        "code": DIASTOLIC_CODE,
                        "dataAbsentReason": {
                            "coding": [{"system": DATA_ABSENT_REASON, "code": "unsupported", "display": "Unsupported"}]
                        },
                    },
                ],
            }
            vitals.append((url("blood_pressure"), resource))
            continue
        resource |= {"code": code, **header, **performer, "valueQuantity": quantity}
        if vital.field == "spo2":
            # Whether the SpO2 was read on air or supplemental oxygen qualifies the reading itself.
            resource["component"] = [
                {
                    "code": concept(OBSERVATION_CODES, "supplemental-oxygen", "On supplemental oxygen"),
                    "valueBoolean": observation.on_oxygen,
                }
            ]
        vitals.append((url(vital.field), resource))
    level = observation.consciousness
    consciousness: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_vital_signs()],
        "code": ACVPU_CODE,
        **header,
        **performer,
        "valueCodeableConcept": concept(ACVPU_CODES, level.value, _ACVPU_DISPLAYS[level]),
    }
    vitals.append((url("consciousness"), consciousness))
    identifiers = (
        [{"system": MEASUREMENT_ID, "value": measurement.measurement_id}] if measurement.measurement_id else []
    )
    if measurement.source_system and measurement.source_record_id:
        identifiers.append({"system": _source(measurement.source_system), "value": measurement.source_record_id})
    panel: dict[str, Any] = {
        "resourceType": "Observation",
        **({"identifier": identifiers} if identifiers else {}),
        "status": "final",
        "category": [_vital_signs()],
        "code": PANEL_CODE,
        **header,
        **performer,
        "hasMember": [{"reference": u} for u, _ in vitals],
    }
    if assessment.result is not None:
        news2 = _news2(assessment.result, observation.spo2_scale, header, [u for u, _ in vitals])
    elif assessment.not_scored is not None:
        news2 = _not_scored(assessment.not_scored, header)
    else:
        raise ValueError("an assessment holds a result or why there is none")
    return [entry(u, r) for u, r in [(url("panel"), panel), *vitals, (url("news2"), news2)]]


def _charted_values(observation: Observation, assessment: Assessment) -> dict[str, int | float]:
    """Each vital sign as charted, the value NEWS2 scored: the whole numbers as given, the
    temperature rounded half up to one decimal (news2.chart_temperature) — the same value when
    NEWS2 does not apply, so the export never shows a reading the chart did not."""
    charted = assessment.result.charted_temperature if assessment.result else chart_temperature(observation.temperature)
    return {v.field: getattr(observation, v.field) for v in VITALS} | {"temperature": float(charted)}


def _news2(result: News2Result, scale: Spo2Scale, header: dict, derived_from: list[str]) -> dict:
    scores = result.scores
    parameters = (
        ("respiration-rate", "Respiration rate score", scores.respiration_rate),
        # The chart has a row per SpO2 scale; the code says which one scored.
        (f"spo2-scale-{scale.value}", f"SpO2 scale {scale.value} score", scores.spo2),
        ("air-or-oxygen", "Air or oxygen score", scores.air_or_oxygen),
        ("systolic-bp", "Systolic blood pressure score", scores.systolic_bp),
        ("pulse", "Pulse score", scores.pulse),
        ("consciousness", "Consciousness score", scores.consciousness),
        ("temperature", "Temperature score", scores.temperature),
    )
    components = [
        {"code": concept(NEWS2_PARAMETER, code, display), "valueInteger": score} for code, display, score in parameters
    ]
    components.append(
        {
            "code": concept(OBSERVATION_CODES, "news2-red-score", "NEWS2 red score (3 in a single parameter)"),
            "valueBoolean": result.red_score,
        }
    )
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [_survey()],
        "code": NEWS2_CODE,
        **header,
        "valueInteger": result.total,
        "interpretation": [concept(NEWS2_RISK, result.risk.value, _RISK_DISPLAYS[result.risk])],
        "derivedFrom": [{"reference": u} for u in derived_from],
        "component": components,
    }


def _not_scored(reason: NotScored, header: dict) -> dict:
    display, text = _NOT_SCORED[reason]
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [_survey()],
        "code": NEWS2_CODE,
        **header,
        "dataAbsentReason": {
            "coding": [{"system": DATA_ABSENT_REASON, "code": "not-applicable", "display": "Not Applicable"}],
            "text": text,
        },
        "note": [{"text": text}],
        "component": [
            {
                "code": concept(OBSERVATION_CODES, "news2-not-scored-reason", "Why NEWS2 is not scored"),
                "valueCodeableConcept": concept(NOT_SCORED_CODES, reason.value, display),
            }
        ],
    }


def practitioner_reference(performer: Performer) -> dict:
    """A logical reference: the health person by HPR number, with no Practitioner resource in the bundle."""
    reference = {"type": "Practitioner", "identifier": hpr_identifier(performer.hpr_number)}
    return {**reference, "display": performer.name} if performer.name else reference


def patient_full_url(pid: str) -> str:
    """The fullUrl of the patient's Patient in its Bundle: other exports refer to the patient by it."""
    return full_url("Patient", pid)


def news2_observation_full_url(pid: str, measurement_id: str) -> str:
    """The fullUrl of a stored measurement's NEWS2 Observation in the patient's Bundle (other
    exports, escalation_fhir.py, refer to it): a stored measurement's id occurs once."""
    return _observation_url(pid, (_STORED, measurement_id, "1"), "news2")


def _observation_url(pid: str, key: tuple[str, ...], part: str) -> str:
    return full_url("Observation", pid, *key, part)


def entry(url: str, resource: dict) -> dict:
    return {
        "fullUrl": url,
        "resource": {"resourceType": resource["resourceType"], "id": url.removeprefix("urn:uuid:"), **resource},
    }


def full_url(*parts: str) -> str:
    # JSON keeps the parts apart whatever characters the ids hold.
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, json.dumps(parts))}"


def _source(source_system: str) -> str:
    return SOURCE_SYSTEM + quote(source_system, safe="")


def concept(system: str, code: str, display: str | None) -> dict:
    coding = {"system": system, "code": code}
    return {"coding": [coding | {"display": display} if display else coding]}


def _vital_signs() -> dict:
    return concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")


def _survey() -> dict:
    return concept(OBSERVATION_CATEGORY, "survey", "Survey")


def instant(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
