"""Exports of audit events: FHIR R4 AuditEvents after IHE BALP, and CSV.

The FHIR output is checked with the fhir.resources R4B models: R4B left AuditEvent as R4 had it,
so an AuditEvent valid there is a valid R4 AuditEvent."""

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit import csv_export, fhir_export
from services.audit.events import Action, AuditRecord, StoredEvent
from services.platform.vocabulary import AccessBasis, ActorKind, Decision, PurposeOfUse
from tests.fixtures import people
from tests.fixtures.hypothesis_profiles import examples
from tests.fixtures.samples import audit_record

ORIGIN = "samhandling.test/audit"
EXPORTED_AT = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
PATIENT = people.ESKIL  # synthetic (NHN, month + 65), a fødselsnummer's shape
D_NUMBER_PATIENT = "51819010076"  # synthetic (Tenor, month + 80) with a D-number's day + 40
READ = audit_record(
    occurred_at=datetime(2026, 1, 5, 8, 30, 15, 123000, tzinfo=UTC), patient_id=PATIENT, decision_id="dec-1"
)
DENIED = replace(READ, decision=Decision.DENY, access_basis=AccessBasis.RESTRICTION, decided_by="restriction-1")
EMERGENCY = replace(
    READ,
    purpose_of_use=PurposeOfUse.BTG,
    access_basis=AccessBasis.EMERGENCY,
    flagged=True,
    justification="Bevisstløs i akuttmottak",
    patient_id=D_NUMBER_PATIENT,
)
SYSTEM = replace(
    READ,
    actor_kind=ActorKind.SYSTEM,
    actor_pid="",
    actor_name="",
    actor_hpr_number="",
    actor_authorization="",
    actor_orgnr_child="",
    decision_id="",
    trace_id="",
    access_basis=None,
)


def stored(record: AuditRecord, sequence: int = 1) -> StoredEvent:
    return StoredEvent(f"0b0c6a8e-5f55-4e53-9a51-{sequence:012d}", sequence, record)


def exported(*records: AuditRecord) -> list[dict]:
    """The AuditEvents of a FHIR export, each checked against the R4B (= R4) models."""
    content = fhir_export.events_bundle(
        [stored(r, i) for i, r in enumerate(records, 1)], origin=ORIGIN, exported_at=EXPORTED_AT
    )
    bundle = json.loads(content)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection" and bundle["timestamp"] == "2026-01-06T12:00:00Z"
    for entry in bundle["entry"]:
        AuditEvent.model_validate(entry["resource"])
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    return [entry["resource"] for entry in bundle["entry"]]


def agents(event: dict, system: str, code: str) -> list[dict]:
    return [a for a in event["agent"] if any(c["code"] == code and c["system"] == system for c in a["type"]["coding"])]


def entity(event: dict, system: str, code: str, role: str | None = None) -> dict:
    [found] = [
        e
        for e in event["entity"]
        if (e["type"]["system"], e["type"]["code"]) == (system, code) and (role is None or e["role"]["code"] == role)
    ]
    return found


def test_a_permitted_read_follows_balp():
    [event] = exported(READ)
    assert event["type"]["code"] == "rest"
    assert [(s["system"], s["code"]) for s in event["subtype"]] == [("http://hl7.org/fhir/restful-interaction", "read")]
    assert (event["action"], event["outcome"], event["recorded"]) == ("R", "0", "2026-01-05T08:30:15.123000Z")
    assert "outcomeDesc" not in event
    [user] = agents(event, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    assert user["requestor"] is True and user["name"] == "Sigrid Sykepleiersen"
    assert user["who"]["identifier"] == {"system": fhir_export.FNR, "value": people.SIGRID}
    assert user["extension"][0]["valueIdentifier"]["system"] == fhir_export.HPR
    assert user["extension"][0]["valueIdentifier"]["value"] == people.SIGRID_HPR
    assert user["role"][0]["coding"][0] == {"system": fhir_export.HPR_CATEGORY, "code": "SP"}
    assert user["purposeOfUse"] == [
        {"coding": [{"system": fhir_export.PURPOSE_OF_USE, "code": "TREAT", "display": "treatment"}]}
    ]
    [client] = agents(event, fhir_export.DCM, "110152")
    assert client["requestor"] is False and client["who"]["identifier"]["value"] == "demo-ehr"
    assert "purposeOfUse" not in client
    [server] = agents(event, fhir_export.DCM, "110153")
    assert server["who"]["display"] == ORIGIN and event["source"]["observer"]["display"] == ORIGIN
    organisations = agents(event, "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV")
    assert [(o["who"]["identifier"]["system"], o["who"]["identifier"]["value"]) for o in organisations] == [
        (fhir_export.ORGNR, "910000012"),
        (fhir_export.ORGNR, "910000020"),
    ]
    patient = entity(event, fhir_export.ENTITY_TYPE, "1")
    assert patient["role"] == {"system": fhir_export.OBJECT_ROLE, "code": "1", "display": "Patient"}
    assert patient["what"] == {"type": "Patient", "identifier": {"system": fhir_export.FNR, "value": PATIENT}}
    trace = entity(event, fhir_export.BALP_ENTITY_TYPE, "XrequestId")
    assert trace["what"]["identifier"]["value"] == READ.trace_id
    decision = entity(event, fhir_export.ENTITY_TYPE, "2", role="13")
    assert decision["what"]["identifier"]["value"] == "dec-1"
    assert {d["type"]: d["valueString"] for d in decision["detail"]} == {
        "decision": "PERMIT",
        "decided_by": "default",
        "access_basis": "CARE_RELATIONSHIP",
        "flagged": "false",
    }
    data = entity(event, fhir_export.ENTITY_TYPE, "2", role="4")
    assert data["what"]["display"] == "VITAL_SIGNS"


def test_a_denial_is_a_failure_naming_its_rule():
    [event] = exported(DENIED)
    assert (event["outcome"], event["outcomeDesc"]) == ("4", "denied by restriction-1")


@pytest.mark.parametrize(
    ("action", "subtype", "code"),
    [
        (Action.READ, "read", "R"),
        (Action.CREATE, "create", "C"),
        (Action.UPDATE, "update", "U"),
        (Action.DELETE, "delete", "D"),
        (Action.SEARCH, "search-type", "E"),
    ],
)
def test_each_action_has_its_balp_subtype_and_action_code(action, subtype, code):
    [event] = exported(replace(READ, action=action))
    assert ([s["code"] for s in event["subtype"]], event["action"]) == ([subtype], code)


def test_an_emergency_override_is_marked_and_carries_etreat():
    [event] = exported(EMERGENCY)
    assert fhir_export.EMERGENCY_OVERRIDE in event["subtype"]
    [user] = agents(event, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    assert [p["coding"][0]["code"] for p in user["purposeOfUse"]] == ["BTG", "ETREAT"]
    patient = entity(event, fhir_export.ENTITY_TYPE, "1")
    assert patient["what"]["identifier"] == {"system": fhir_export.DNR, "value": D_NUMBER_PATIENT}
    decision = entity(event, fhir_export.ENTITY_TYPE, "2", role="13")
    details = {d["type"]: d["valueString"] for d in decision["detail"]}
    assert (details["flagged"], details["justification"]) == ("true", "Bevisstløs i akuttmottak")
    # ETREAT given by the user is not repeated; a non-emergency event has no override mark.
    [etreat, plain] = exported(replace(EMERGENCY, purpose_of_use=PurposeOfUse.ETREAT), READ)
    [user] = agents(etreat, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    assert [p["coding"][0]["code"] for p in user["purposeOfUse"]] == ["ETREAT"]
    assert fhir_export.EMERGENCY_OVERRIDE not in plain["subtype"]


def test_without_a_person_the_client_is_the_requestor():
    [event] = exported(SYSTEM)
    assert not agents(event, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    [client] = agents(event, fhir_export.DCM, "110152")
    assert client["requestor"] is True and client["purposeOfUse"][0]["coding"][0]["code"] == "TREAT"
    assert len(agents(event, "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV")) == 1
    assert not [e for e in event["entity"] if e["type"]["code"] == "XrequestId"]


def test_an_empty_export_is_an_empty_collection():
    bundle = json.loads(fhir_export.events_bundle([], origin=ORIGIN, exported_at=EXPORTED_AT))
    Bundle.model_validate(bundle)
    assert "entry" not in bundle  # FHIR JSON has no empty arrays


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def test_csv_has_a_header_and_one_row_per_event_that_reads_back():
    tricky = replace(READ, actor_name='Ola "Sjef" Nordmann, lege\nbakvakt', justification="å, ø; æ")
    content = csv_export.events_csv([stored(READ, 1), stored(tricky, 2), stored(SYSTEM, 3)])
    assert content.startswith(b"event_id,sequence,occurred_at,") and b"\r\n" in content
    header, *rows = read_csv(content)
    assert tuple(header) == csv_export.COLUMNS
    first, second, third = (dict(zip(header, row, strict=True)) for row in rows)
    assert first == {
        "event_id": stored(READ, 1).event_id,
        "sequence": "1",
        "occurred_at": "2026-01-05T08:30:15.123000Z",
        "actor_kind": "PERSONNEL",
        "actor_pid": people.SIGRID,
        "actor_name": "Sigrid Sykepleiersen",
        "actor_hpr_number": people.SIGRID_HPR,
        "actor_authorization": "SP",
        "actor_orgnr_parent": "910000012",
        "actor_orgnr_child": "910000020",
        "actor_client_id": "demo-ehr",
        "actor_client_name": "Demo EHR Bodø",
        "patient_id": PATIENT,
        "action": "READ",
        "data_category": "VITAL_SIGNS",
        "purpose_of_use": "TREAT",
        "access_basis": "CARE_RELATIONSHIP",
        "decision": "PERMIT",
        "decided_by": "default",
        "decision_id": "dec-1",
        "trace_id": READ.trace_id,
        "method": READ.method,
        "flagged": "false",
        "justification": "",
    }
    assert (second["actor_name"], second["justification"]) == (tricky.actor_name, tricky.justification)
    assert (third["actor_kind"], third["access_basis"], third["actor_pid"]) == ("SYSTEM", "", "")


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+47 999", "-1+1", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_csv_cells_a_spreadsheet_would_run_are_defused(text):
    content = csv_export.events_csv([stored(replace(READ, actor_name=text, justification=text))])
    row = dict(zip(*read_csv(content), strict=True))
    assert row["actor_name"] == row["justification"] == "'" + text


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (";=1+1", ";'=1+1"),  # Excel in Norway splits by ';'
        ('Akutt;=HYPERLINK("http://x")', 'Akutt;\'=HYPERLINK("http://x")'),
        ("a|@SUM(A1)", "a|'@SUM(A1)"),
        ("a\t-1", "a\t'-1"),
        ('a; "=1', "a; \"'=1"),  # after spaces and a quote too: a quoted cell is still run
        ("bakvakt\n+47 999", "bakvakt\n'+47 999"),  # a new row where the quotes are not honoured
        ("\t\t=1", "'\t'\t'=1"),  # a trigger that is itself a separator
    ],
)
def test_csv_guards_a_trigger_after_any_separator(text, written):
    content = csv_export.events_csv([stored(replace(READ, justification=text))])
    assert dict(zip(*read_csv(content), strict=True))["justification"] == written


# Cells from the characters that matter: triggers, separators, spaces, quotes, and ordinary text.
_CELLS = st.text(alphabet=st.sampled_from(list("=+-@\t\r\n,;| \"'aø1")), max_size=24)


def exposed(text: str, separator: str) -> list[str]:
    """The parts of `text` split by `separator` that start, after spaces and quotes, with a trigger."""
    return [p for p in text.split(separator) if p.lstrip(' "').startswith(tuple(csv_export.FORMULA_TRIGGERS))]


@settings(max_examples=examples(500))
@given(_CELLS)
def test_no_part_of_a_guarded_cell_starts_a_formula_whatever_the_separator(text):
    guarded = csv_export.guarded(text)
    assert {separator: exposed(guarded, separator) for separator in csv_export.CELL_BREAKS} == dict.fromkeys(
        csv_export.CELL_BREAKS, []
    )
    assert guarded.replace("'", "") == text.replace("'", "")  # only quotes are added


@settings(max_examples=examples(200))
@given(st.lists(_CELLS, min_size=1, max_size=4))
def test_no_part_of_the_export_starts_a_formula_whatever_the_separator(texts):
    """The whole file, read line by line (as by a reader that ignores the quotes) and split by any
    common separator, has no part that starts, after spaces and quotes, with a formula trigger."""
    events = [stored(replace(READ, actor_name=text, justification=text[::-1]), i) for i, text in enumerate(texts, 1)]
    content = csv_export.events_csv(events).decode("utf-8")
    for line in re.split("[\r\n]", content):
        for separator in ",;\t|":
            assert not exposed(line, separator), (separator, line)
    names = [row[csv_export.COLUMNS.index("actor_name")] for row in read_csv(content.encode())[1:]]
    assert [name.replace("'", "") for name in names] == [text.replace("'", "") for text in texts]


def test_csv_cells_with_such_characters_inside_are_left_alone():
    content = csv_export.events_csv([stored(replace(READ, justification="Pasient a=b, c+d - e@f"))])
    assert dict(zip(*read_csv(content), strict=True))["justification"] == "Pasient a=b, c+d - e@f"
