"""A patient's summary as a FHIR R4 Bundle: checked with the fhir.resources R4B models (R4B left
Patient, EpisodeOfCare and Observation as R4 had them) and against the NEWS2 chart by hand."""

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.patient import Patient as FhirPatient

from services.summary import fhir
from services.summary.news2 import ACVPU, Observation, Spo2Scale
from services.summary.okt import IPLOS_9151, MunicipalService, is_active
from services.summary.patients import Patient
from services.summary.vitals import Measurement, Performer, assess
from tests.fixtures import people
from tests.fixtures.fhir_bundles import validated_bundle
from tests.fixtures.samples import HOME_NURSING

TODAY = date(2025, 11, 5)
GENERATED_AT = datetime(2025, 11, 5, 9, 0, tzinfo=UTC)
MODELS = {"Patient": FhirPatient, "EpisodeOfCare": EpisodeOfCare, "Observation": FhirObservation}

ESKIL = Patient(people.ESKIL, "Eskil Eksempelsen", "1804", Spo2Scale.SCALE_1)  # synthetic (NHN, month + 65)
FRIDA = Patient(people.FRIDA, "Frida Fantasisen", "1804", Spo2Scale.SCALE_1)  # synthetic (Tenor), born 2022
NURSE = Performer(people.SIGRID_HPR, "Sigrid Sykepleiersen")

ENDED = replace(
    HOME_NURSING,
    service_id="svc-0002",
    iplos_code="27",
    start_date=date(2025, 1, 15),
    end_date=date(2025, 5, 31),
    weekly_extent="14 doseringer",
    source_record_id="ehr-4712",
)
ON_HOLD = replace(
    HOME_NURSING,
    service_id="svc-0003",
    iplos_code="02",
    start_date=date(2025, 9, 1),
    temporarily_ceased=True,
    source_record_id="",
)
FUTURE = replace(
    HOME_NURSING,
    service_id="svc-0004",
    iplos_code="19",
    start_date=date(2025, 12, 1),
    end_date=date(2025, 12, 21),
    stay_type="korttidsopphold",
    description="",
    source_record_id="ehr-4713",
)
SERVICES = [HOME_NURSING, ENDED, ON_HOLD, FUTURE]

# RR 22 -> 2, SpO2 95 (scale 1) -> 1, air -> 0, BP 108 -> 1, pulse 104 -> 1, alert -> 0, 38.4 °C -> 1: 6, medium.
FEVERISH = Measurement(
    measured_at=datetime(2025, 11, 3, 6, 45, tzinfo=UTC),
    observation=Observation(22, 95, Spo2Scale.SCALE_1, False, 108, 104, ACVPU.ALERT, 38.4),
    measurement_id="17",
    measured_by=NURSE,
    source_system="demo-ehr",
    source_record_id="ehr-vs-1",
)
# RR 18 -> 0, SpO2 97 on oxygen (scale 2) -> 3, oxygen -> 2, BP 120 -> 0, pulse 80 -> 0, voice -> 3,
# 37.0 °C -> 0: 8, high, red score.
HYPERCAPNIC = Measurement(
    measured_at=datetime(2025, 11, 4, 14, 0, tzinfo=UTC),
    observation=Observation(18, 97, Spo2Scale.SCALE_2, True, 120, 80, ACVPU.VOICE, 37.0),
    measurement_id="18",
)


def bundle_for(
    patient: Patient = ESKIL,
    services: Sequence[MunicipalService] | None = SERVICES,
    measurements: Sequence[Measurement] | None = (FEVERISH, HYPERCAPNIC),
) -> dict:
    """The bundle, checked as a whole and resource by resource against the R4B (= R4) models."""
    pairs = None if measurements is None else [(m, assess(m, patient.birth_date)) for m in measurements]
    bundle = fhir.patient_bundle(patient, services=services, measurements=pairs, today=TODAY, generated_at=GENERATED_AT)
    return validated_bundle(bundle, MODELS, "2025-11-05T09:00:00Z")


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def by_url(bundle: dict) -> dict[str, dict]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def news2_observations(bundle: dict) -> list[dict]:
    return [o for o in resources(bundle, "Observation") if (fhir.SNOMED, "1104051000000101") in codes(o["code"])]


def panels(bundle: dict) -> list[dict]:
    return [o for o in resources(bundle, "Observation") if (fhir.LOINC, "85353-1") in codes(o["code"])]


def parameter_scores(news2: dict) -> dict[str, int]:
    return {
        c["code"]["coding"][0]["code"]: c["valueInteger"]
        for c in news2["component"]
        if c["code"]["coding"][0]["system"] == fhir.NEWS2_PARAMETER
    }


def component_value(observation: dict, system: str, code: str):
    [component] = [c for c in observation["component"] if (system, code) in codes(c["code"])]
    [value] = [v for k, v in component.items() if k.startswith("value")]
    return value


def references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if "reference" in value else []
        return found + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def test_patient_is_identified_by_person_number_with_name_and_birth_date():
    bundle = bundle_for()
    [patient] = resources(bundle, "Patient")
    assert patient["identifier"] == [{"system": fhir.FNR, "value": people.ESKIL}]
    assert (patient["name"], patient["birthDate"]) == ([{"text": "Eskil Eksempelsen"}], "2008-10-22")
    # 1 Patient, 4 EpisodeOfCare, per measurement a panel, 5 vital signs, ACVPU and NEWS2.
    assert len(bundle["entry"]) == 1 + 4 + 2 * 8


@pytest.mark.parametrize(
    ("pid", "system"),
    [
        (people.ESKIL, fhir.FNR),  # NHN synthetic, ordinary day
        (people.FRIDA, fhir.FNR),  # Tenor synthetic, ordinary day
        (people.MIKKEL, fhir.DNR),  # Tenor synthetic with a D-number's day + 40
    ],
)
def test_synthetic_numbers_take_the_oid_of_the_kind_they_imitate(pid, system):
    bundle = bundle_for(replace(ESKIL, pid=pid), services=None, measurements=None)
    [patient] = resources(bundle, "Patient")
    assert patient["identifier"] == [{"system": system, "value": pid}]


def test_a_municipal_service_is_an_episode_of_care_carrying_every_okt_field():
    bundle = bundle_for()
    patient_url = bundle["entry"][0]["fullUrl"]
    episode = resources(bundle, "EpisodeOfCare")[0]
    assert episode["status"] == "active"
    assert episode["type"] == [
        {
            "coding": [
                {"system": "urn:oid:2.16.578.1.12.4.1.1.9151", "code": "15", "display": "Helsetjenester i hjemmet"}
            ]
        }
    ]
    assert episode["period"] == {"start": "2025-06-02"}
    assert episode["patient"] == {"reference": patient_url}
    assert episode["managingOrganization"]["identifier"] == {"system": fhir.ORGNR, "value": "910000020"}
    assert episode["identifier"] == [
        {"system": fhir.SERVICE_ID, "value": "svc-0001"},
        {"system": "urn:samhandling:source:demo-ehr", "value": "ehr-4711"},
    ]
    assert {e["url"]: e["valueString"] for e in episode["extension"]} == {
        fhir.SERVICE_LEVEL: "Hjemmeboende – Sone sør (hjemmesykepleie)",
        fhir.WEEKLY_EXTENT: "5 timer",
        fhir.DESCRIPTION: "Hjelp med insulin og blodsukkermåling morgen og kveld",
    }
    ended, on_hold, future = resources(bundle, "EpisodeOfCare")[1:]
    assert ended["period"] == {"start": "2025-01-15", "end": "2025-05-31"}
    assert on_hold["identifier"] == [{"system": fhir.SERVICE_ID, "value": "svc-0003"}]  # no source record id
    assert [e["valueCoding"] for e in future["extension"] if e["url"] == fhir.STAY_TYPE] == [
        {"system": fhir.STAY_TYPE_CODES, "code": "korttidsopphold", "display": "Korttidsopphold"}
    ]
    assert fhir.DESCRIPTION not in {e["url"] for e in future["extension"]}  # empty text is left out


@pytest.mark.parametrize(
    ("service", "today", "status"),
    [
        (HOME_NURSING, TODAY, "active"),
        (ENDED, TODAY, "finished"),
        (ON_HOLD, TODAY, "onhold"),
        (FUTURE, TODAY, "planned"),
        (HOME_NURSING, date(2025, 6, 2), "active"),  # first day
        (ENDED, date(2025, 5, 31), "active"),  # the end date is the last day
        (replace(ENDED, temporarily_ceased=True), TODAY, "finished"),  # ended outranks on hold
        (replace(FUTURE, temporarily_ceased=True), TODAY, "planned"),  # not started outranks on hold
    ],
)
def test_episode_status_follows_okt_activity(service, today, status):
    bundle = fhir.patient_bundle(ESKIL, services=[service], measurements=None, today=today, generated_at=GENERATED_AT)
    [episode] = resources(bundle, "EpisodeOfCare")
    assert episode["status"] == status
    assert (status == "active") is is_active(service, today)


def test_vital_signs_have_loinc_codes_and_ucum_units():
    bundle = bundle_for(measurements=[FEVERISH])
    [panel] = panels(bundle)
    members = [by_url(bundle)[m["reference"]] for m in panel["hasMember"]]
    quantities = {}
    for observation in members:
        assert observation["status"] == "final"
        assert codes(observation["category"][0]) == {(fhir.OBSERVATION_CATEGORY, "vital-signs")}
        assert observation["effectiveDateTime"] == "2025-11-03T06:45:00Z"
        assert observation["performer"] == [
            {
                "type": "Practitioner",
                "identifier": {"system": fhir.HPR, "value": people.SIGRID_HPR},
                "display": "Sigrid Sykepleiersen",
            }
        ]
        if "valueQuantity" in observation:
            quantity = observation["valueQuantity"]
            assert quantity["system"] == "http://unitsofmeasure.org"
            for system, code in codes(observation["code"]):
                assert system == "http://loinc.org"
                quantities[code] = (quantity["value"], quantity["code"])
    assert quantities == {
        "9279-1": (22, "/min"),
        "2708-6": (95, "%"),
        "59408-5": (95, "%"),
        "8867-4": (104, "/min"),
        "8310-5": (38.4, "Cel"),
    }
    [spo2] = [o for o in members if (fhir.LOINC, "59408-5") in codes(o["code"])]
    assert component_value(spo2, fhir.OBSERVATION_CODES, "supplemental-oxygen") is False
    [consciousness] = [o for o in members if o["code"] == fhir.ACVPU_CODE]
    assert codes(consciousness["valueCodeableConcept"]) == {(fhir.ACVPU_CODES, "ALERT")}
    assert panel["identifier"] == [
        {"system": fhir.MEASUREMENT_ID, "value": "17"},
        {"system": "urn:samhandling:source:demo-ehr", "value": "ehr-vs-1"},
    ]
    assert not [k for k in panel if k.startswith("value")]  # a panel groups, it holds no value


@pytest.mark.parametrize(
    ("measurement", "total", "scores", "risk", "red_score"),
    [
        (
            FEVERISH,
            6,
            {
                "respiration-rate": 2,
                "spo2-scale-1": 1,
                "air-or-oxygen": 0,
                "systolic-bp": 1,
                "pulse": 1,
                "consciousness": 0,
                "temperature": 1,
            },
            "MEDIUM",
            False,
        ),
        (
            HYPERCAPNIC,
            8,
            {
                "respiration-rate": 0,
                "spo2-scale-2": 3,
                "air-or-oxygen": 2,
                "systolic-bp": 0,
                "pulse": 0,
                "consciousness": 3,
                "temperature": 0,
            },
            "HIGH",
            True,
        ),
    ],
)
def test_news2_observation_has_total_risk_and_every_parameter_score(measurement, total, scores, risk, red_score):
    bundle = bundle_for(measurements=[measurement])
    [news2] = news2_observations(bundle)
    assert news2["code"]["coding"] == [
        {
            "system": "http://snomed.info/sct",
            "code": "1104051000000101",
            "display": "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
        }
    ]
    assert (news2["status"], news2["valueInteger"]) == ("final", total)
    assert parameter_scores(news2) == scores
    assert component_value(news2, fhir.OBSERVATION_CODES, "news2-red-score") is red_score
    assert codes(news2["interpretation"][0]) == {(fhir.NEWS2_RISK, risk)}
    # Derived from the measurement's vital signs: the panel's members, ACVPU included.
    [panel] = panels(bundle)
    assert news2["derivedFrom"] == panel["hasMember"] and len(news2["derivedFrom"]) == 6
    assert news2["effectiveDateTime"] == panel["effectiveDateTime"]


def test_a_childs_measurement_has_no_news2_total_but_says_why():
    measurement = replace(FEVERISH, measured_at=datetime(2025, 10, 1, 8, 0, tzinfo=UTC))
    bundle = bundle_for(FRIDA, measurements=[measurement])
    [panel] = panels(bundle)
    assert len(panel["hasMember"]) == 6  # the vital signs are still shared
    [news2] = news2_observations(bundle)
    assert not [k for k in news2 if k.startswith("value")]
    assert codes(news2["dataAbsentReason"]) == {(fhir.DATA_ABSENT_REASON, "not-applicable")}
    assert "under 16" in news2["note"][0]["text"]
    reason = component_value(news2, fhir.OBSERVATION_CODES, "news2-not-scored-reason")
    assert codes(reason) == {(fhir.NOT_SCORED_CODES, "UNDER_16")}


def test_a_pregnant_patients_measurement_is_not_scored_either():
    bundle = bundle_for(measurements=[replace(FEVERISH, pregnant=True)])
    [news2] = news2_observations(bundle)
    assert "valueInteger" not in news2 and "pregnancy" in news2["note"][0]["text"]
    assert codes(component_value(news2, fhir.OBSERVATION_CODES, "news2-not-scored-reason")) == {
        (fhir.NOT_SCORED_CODES, "PREGNANT")
    }


@pytest.mark.parametrize(
    ("services", "measurements", "kinds", "tags"),
    [
        (None, [FEVERISH], {"Patient", "Observation"}, ["withheld-MUNICIPAL_SERVICES"]),
        (SERVICES, None, {"Patient", "EpisodeOfCare"}, ["withheld-VITAL_SIGNS"]),
        (None, None, {"Patient"}, ["withheld-MUNICIPAL_SERVICES", "withheld-VITAL_SIGNS"]),
    ],
)
def test_withheld_categories_give_no_entries_only_a_tag_naming_them(services, measurements, kinds, tags):
    bundle = bundle_for(services=services, measurements=measurements)
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == kinds
    assert [(t["system"], t["code"]) for t in bundle["meta"]["tag"]] == [(fhir.EXPORT_TAGS, t) for t in tags]
    assert "meta" not in bundle_for()


def test_a_truncated_export_says_so():
    pairs = [(FEVERISH, assess(FEVERISH, ESKIL.birth_date))]
    bundle = fhir.patient_bundle(
        ESKIL, services=SERVICES, measurements=pairs, today=TODAY, generated_at=GENERATED_AT, truncated=True
    )
    Bundle.model_validate(bundle)
    assert [t["code"] for t in bundle["meta"]["tag"]] == ["truncated-VITAL_SIGNS"]


def test_the_same_input_gives_the_same_bundle():
    first = bundle_for()
    changed, untouched = news2_observations(first)
    changed["code"]["coding"][0]["code"] = "changed by a caller"  # shares nothing with the next call
    assert untouched["code"]["coding"][0]["code"] == "1104051000000101"  # nor within the bundle
    second, third = bundle_for(), bundle_for()
    assert json.dumps(second) == json.dumps(third)
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]
    other = bundle_for(replace(ESKIL, pid=people.MIKKEL))
    assert not {e["fullUrl"] for e in other["entry"]} & {e["fullUrl"] for e in second["entry"]}


def test_every_reference_resolves_to_an_entry_and_full_urls_are_unique():
    # Two measurements without ids at the same moment still get entries of their own.
    unnamed = replace(HYPERCAPNIC, measurement_id="", measured_at=FEVERISH.measured_at)
    bundle = bundle_for(measurements=[FEVERISH, unnamed, unnamed])
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls)) == 1 + 4 + 3 * 8
    found = references(bundle)
    assert found and set(found) <= set(urls)


def test_iplos_codes_are_exported_as_code_list_9151_writes_them():
    # SERVICES hold "02" (an old client's padded form): the export writes "2", a code of 9151.
    bundle = bundle_for()
    exported = [c for e in resources(bundle, "EpisodeOfCare") for t in e["type"] for c in t["coding"]]
    assert {c["system"] for c in exported} == {fhir.IPLOS}
    assert sorted(c["code"] for c in exported) == ["15", "19", "2", "27"]
    assert all(c["code"] in IPLOS_9151 and c["display"] == IPLOS_9151[c["code"]] for c in exported)


def test_every_seeded_iplos_code_is_official_and_exported_unchanged():
    seeded = json.loads((Path(__file__).resolve().parents[2] / "seeds" / "patients.json").read_text(encoding="utf-8"))
    written = {s["iplos_code"] for p in seeded for s in p.get("municipal_services", [])}
    assert written <= set(IPLOS_9151)  # the seeds write the official form, e.g. "6" for Trygghetsalarm
    assert "6" in written


def test_blood_pressure_is_r4s_panel_with_systolic_and_an_absent_diastolic_component():
    bundle = bundle_for(measurements=[FEVERISH])
    [panel] = panels(bundle)
    members = [by_url(bundle)[m["reference"]] for m in panel["hasMember"]]
    assert not [o for o in members if (fhir.LOINC, "8480-6") in codes(o["code"])]  # no standalone systolic
    [pressure] = [o for o in members if (fhir.LOINC, "85354-9") in codes(o["code"])]
    assert "valueQuantity" not in pressure and "dataAbsentReason" not in pressure
    systolic, diastolic = pressure["component"]
    assert codes(systolic["code"]) == {(fhir.LOINC, "8480-6")}
    assert systolic["valueQuantity"] == {"value": 108, "unit": "mmHg", "system": fhir.UCUM, "code": "mm[Hg]"}
    assert codes(diastolic["code"]) == {(fhir.LOINC, "8462-4")}
    assert codes(diastolic["dataAbsentReason"]) == {(fhir.DATA_ABSENT_REASON, "unsupported")}
    assert "valueQuantity" not in diastolic
    [news2] = news2_observations(bundle)
    assert by_url(bundle)[news2["derivedFrom"][2]["reference"]] is pressure
    assert parameter_scores(news2)["systolic-bp"] == 1


@pytest.mark.parametrize(
    ("given", "charted", "score"),
    [(36.05, 36.1, 0), (35.04, 35.0, 3), (38.95, 39.0, 1), (39.05, 39.1, 2), (37.0, 37.0, 0)],
)
def test_the_temperature_exported_is_the_charted_value_news2_scored(given, charted, score):
    feverish = replace(FEVERISH, observation=replace(FEVERISH.observation, temperature=given))
    for patient in (ESKIL, FRIDA):  # scored, and not scored (under 16): the same charted value
        bundle = bundle_for(patient, services=None, measurements=[feverish])
        [temperature] = [o for o in resources(bundle, "Observation") if (fhir.LOINC, "8310-5") in codes(o["code"])]
        assert temperature["valueQuantity"]["value"] == charted
        assert json.dumps(temperature["valueQuantity"]["value"]) == str(charted)
    [news2] = news2_observations(bundle_for(ESKIL, services=None, measurements=[feverish]))
    assert parameter_scores(news2)["temperature"] == score
