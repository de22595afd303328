"""The identifier systems of the FHIR exports, pinned per identifier type against HL7 Norway's
no-basis profiles (services/platform/naming_systems.py), and every seeded person, health person
and organisation classified as the exports write them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.patient import Patient as FhirPatient

from services.audit import fhir_export
from services.audit.events import StoredEvent
from services.platform.ids import PersonNumberKind, validate_person_number
from services.platform.naming_systems import (
    IDENTIFIER_TYPE_CODES,
    NAMING_SYSTEMS,
    IdentifierType,
    hpr_identifier,
    organisation_identifier,
    person_identifier,
    person_identifier_type,
)
from services.summary import fhir
from services.summary.news2 import Spo2Scale
from services.summary.patients import Patient
from tests.fixtures.samples import audit_record

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# Constructed H-number (month + 40), born 1 January 1900: an enterprise's local number, no one's identity.
H_NUMBER = "01410040073"


def _seed(name: str) -> list[dict]:
    return json.loads((SEEDS / name).read_text(encoding="utf-8"))


def test_each_identifier_type_has_the_system_hl7_norway_gives_it():
    assert NAMING_SYSTEMS == {
        IdentifierType.FNR: "urn:oid:2.16.578.1.12.4.1.4.1",
        IdentifierType.DNR: "urn:oid:2.16.578.1.12.4.1.4.2",
        IdentifierType.FHN: "urn:oid:2.16.578.1.12.4.1.4.3",  # felles hjelpenummer, never an H-number
        IdentifierType.HNR: "HNR",
        IdentifierType.HPR: "urn:oid:2.16.578.1.12.4.1.4.4",
        IdentifierType.ENH: "urn:oid:2.16.578.1.12.4.1.4.101",
        IdentifierType.RSH: "urn:oid:2.16.578.1.12.4.1.4.102",
    }
    # Both exports take their systems from the table, so they cannot drift apart.
    for module in (fhir, fhir_export):
        assert (module.FNR, module.DNR, module.HNR, module.HPR, module.ORGNR) == (
            NAMING_SYSTEMS[IdentifierType.FNR],
            NAMING_SYSTEMS[IdentifierType.DNR],
            NAMING_SYSTEMS[IdentifierType.HNR],
            NAMING_SYSTEMS[IdentifierType.HPR],
            NAMING_SYSTEMS[IdentifierType.ENH],
        )


def test_an_h_number_is_a_local_hjelpenummer_with_type_and_assigner_not_the_fh_number_oid():
    assert validate_person_number(H_NUMBER).kind is PersonNumberKind.HNR
    identifier = person_identifier(H_NUMBER)
    assert identifier["system"] == "HNR" != NAMING_SYSTEMS[IdentifierType.FHN]
    assert identifier["type"] == {"coding": [{"system": IDENTIFIER_TYPE_CODES, "code": "HNR"}]}
    assert identifier["assigner"]["display"]  # no-basis makes the assigner mandatory for an H-number
    assert identifier["value"] == H_NUMBER


def test_the_exports_write_an_h_number_as_no_basis_does():
    patient = Patient(H_NUMBER, "Hjelpenummer Pasient", "1804", Spo2Scale.SCALE_1)
    bundle = fhir.patient_bundle(
        patient,
        services=None,
        measurements=None,
        today=datetime(2026, 1, 5).date(),
        generated_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    [entry] = bundle["entry"]
    FhirPatient.model_validate(entry["resource"])
    assert entry["resource"]["identifier"] == [person_identifier(H_NUMBER)]

    record = audit_record(occurred_at=datetime(2026, 1, 5, 8, 30, tzinfo=UTC), patient_id=H_NUMBER, decision_id="d")
    event = fhir_export.audit_event(StoredEvent("0b0c6a8e-5f55-4e53-9a51-000000000001", 1, record), origin="test")
    AuditEvent.model_validate(event)
    [patient_entity] = [e for e in event["entity"] if e["what"].get("type") == "Patient"]
    assert patient_entity["what"]["identifier"] == person_identifier(H_NUMBER)


def _expected_person_type(pid: str) -> IdentifierType:
    """Independently of the module: the seeds hold synthetic numbers only, which take FNR, or DNR
    when the day is written + 40."""
    return IdentifierType.DNR if int(pid[:2]) > 40 else IdentifierType.FNR


def _seeded_person_numbers() -> set[str]:
    pids = {p["patient_id"] for p in _seed("patients.json")}
    pids |= {p["pid"] for p in _seed("personnel.json")}
    for r in _seed("representatives.json"):
        pids |= {r["patient_id"], r["representative_pid"]}
    return pids


@pytest.mark.parametrize("pid", sorted(_seeded_person_numbers()))
def test_every_seeded_person_number_is_classified_by_the_kind_it_imitates(pid: str):
    number = validate_person_number(pid)
    assert number.is_synthetic
    kind = person_identifier_type(number)
    assert kind is _expected_person_type(pid)
    assert person_identifier(pid) == {"system": NAMING_SYSTEMS[kind], "value": pid}


def test_every_seeded_health_person_and_organisation_has_its_system():
    for person in _seed("personnel.json"):
        assert hpr_identifier(person["hpr_number"]) == {
            "system": "urn:oid:2.16.578.1.12.4.1.4.4",
            "value": person["hpr_number"],
        }
        for orgnr in (person["orgnr_parent"], person["orgnr_child"]):
            assert organisation_identifier(orgnr)["system"] == "urn:oid:2.16.578.1.12.4.1.4.101"
    for organisation in _seed("organisations.json"):
        assert organisation_identifier(organisation["orgnr"]) == {
            "system": "urn:oid:2.16.578.1.12.4.1.4.101",
            "value": organisation["orgnr"],
        }
