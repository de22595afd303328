"""The EscalationService end to end through the gateway (docs/escalation.md "Through the
gateway"): real STS tokens, consent, audit and the summary service. Episodes are opened through
the escalation store on the suite's summary database, as RecordVitalSigns opens them (a
measurement of Tor's recorded at Bærum helsehus reaches Bodø legevakt and home nursing);
everything else goes through the gateway, with the seeded people for the restriction (Gunnar),
the block and the reservation (Ragnhild)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import escalation_pb2 as E
from samhandling.summary.v1 import escalation_pb2_grpc, summary_pb2, summary_pb2_grpc
from services.cli.token import Identity, obtain_token
from services.platform.db import make_engine, make_sessions
from services.platform.errors import error_info
from services.platform.norway_date import today_in_norway
from services.summary.escalation_rules import AcknowledgeWithin, evaluate
from services.summary.escalation_store import EscalationStore
from services.summary.news2 import Spo2Scale
from services.summary.store import SummaryStore
from tests.fixtures import people
from tests.fixtures.escalation import measurement, routes
from tests.fixtures.escalation_signals import exhausted_emergency
from tests.fixtures.health_person import HealthPerson
from tests.fixtures.patient_calls import as_patient
from tests.fixtures.summary_inputs import vital_signs
from tests.support import Suite

SERVICE = "/samhandling.summary.v1.EscalationService/"
VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
UNKNOWN_ID = "esc-00000000000000000000000000000000"
JUSTIFIED = ("x-samhandling-justification", "NEWS2 7 hjemme, vurderer innleggelse")
# The actions here go through an organisation's own system, which names the health person acting:
# a health person's own access token carries their HPR number but no name, and the summary
# service's actions ask for a name today. Sigrid works in Bodø home nursing, whose EHR is demo-ehr.
BY_LARS = summary_pb2.Performer(hpr_number=people.LARS_HPR, name="Lars Legevaktsen")
BY_SIGRID = summary_pb2.Performer(hpr_number=people.SIGRID_HPR, name="Sigrid Sykepleiersen")
PERMIT, DENY = common_pb2.DECISION_PERMIT, common_pb2.DECISION_DENY
READ, UPDATE = audit_pb2.ACTION_READ, audit_pb2.ACTION_UPDATE


@dataclass
class Escalations:
    suite: Suite
    summary: SummaryStore
    store: EscalationStore
    numbers: itertools.count

    @property
    def stub(self) -> escalation_pb2_grpc.EscalationServiceStub:
        return escalation_pb2_grpc.EscalationServiceStub(self.suite.gateway)

    def open(self, patient: str, total: int = 7, scale: Spo2Scale = Spo2Scale.SCALE_1) -> str:
        """A measurement of `total` stored for the patient (on the SpO2 scale in force for them)
        and escalated; the escalation id."""
        now = datetime.now(UTC)
        given = measurement(now, total)
        given = replace(
            given,
            observation=replace(given.observation, spo2_scale=scale),
            source_system="demo-ehr",
            source_record_id=f"gw-{next(self.numbers)}",
        )
        stored, _ = self.summary.record_measurement(patient, given)
        opened = self.store.record_measurement(
            patient,
            measurement_id=stored.measurement_id,
            measured_at=now,
            evaluation=evaluate(stored, self.summary.get_patient(patient).birth_date, ()),
            source_orgnr="910000055",  # Bærum helsehus – KAD (tests/fixtures/escalation.py RECORDER)
            routes=routes(now),
            now=now,
        ).episode
        assert opened is not None
        return opened.episode_id

    async def as_lars(self, purpose: str = "TREAT") -> HealthPerson:
        """Lars at the legevakt (a target), with his own DPoP-bound token."""
        return await HealthPerson.signed_in(self.suite, purpose)

    async def as_legevakt(self, purpose: str = "TREAT") -> HealthPerson:
        """The legevakt's own system (DPoP-bound, no person in the token)."""
        identity = Identity("demo-legevakt", purpose=purpose)
        return HealthPerson(self.suite, await obtain_token(self.suite.settings, identity, dpop=True))

    async def patient_log(self, patient_id: str) -> list[audit_pb2.AuditEvent]:
        answer = await audit_pb2_grpc.AuditServiceStub(self.suite.gateway).ListEvents(
            audit_pb2.ListEventsRequest(patient_id=patient_id),
            metadata=await as_patient(self.suite.settings, patient_id),
        )
        return list(answer.events)


@pytest.fixture
async def esc(suite: Suite) -> AsyncIterator[Escalations]:
    engine = make_engine(suite.settings.database_url("summary"))
    sessions = make_sessions(engine)
    try:
        yield Escalations(
            suite, SummaryStore(sessions), EscalationStore(sessions, AcknowledgeWithin()), itertools.count(1)
        )
    finally:
        engine.dispose()


async def refusal(call) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), error_info(caught.value)[0], caught.value.details() or ""


def by(events: list[audit_pb2.AuditEvent], client_id: str, hpr_number: str = "") -> list[tuple[int, int, int, bool]]:
    """(action, category, decision, flagged) of the log's events by one caller, oldest first."""
    return [
        (e.action, e.data_category, e.decision, e.flagged)
        for e in reversed(events)  # the log lists the newest first
        if (e.actor.client_id, e.actor.hpr_number) == (client_id, hpr_number)
    ]


def get(escalation_id: str) -> E.GetEscalationRequest:
    return E.GetEscalationRequest(escalation_id=escalation_id)


def ack(escalation_id: str, person: summary_pb2.Performer | None = None) -> E.AcknowledgeEscalationRequest:
    return E.AcknowledgeEscalationRequest(escalation_id=escalation_id, request_id="ack-1", acknowledged_by=person)


GET, ACK = SERVICE + "GetEscalation", SERVICE + "AcknowledgeEscalation"
LARS_CALLS = ("demo-legevakt", people.LARS_HPR)


async def test_a_target_opens_and_acknowledges_and_the_patient_sees_a_read_and_an_update(esc):
    escalation_id = esc.open(people.TOR)
    lars = await esc.as_lars()
    opened = await esc.stub.GetEscalation(get(escalation_id), metadata=lars.metadata(GET))
    assert (opened.escalation.escalation_id, opened.escalation.patient_id) == (escalation_id, people.TOR)
    legevakt = await esc.as_legevakt()
    taken = await esc.stub.AcknowledgeEscalation(ack(escalation_id, BY_LARS), metadata=legevakt.metadata(ACK))
    assert taken.escalation.state == E.ESCALATION_STATE_ACKNOWLEDGED
    log = await esc.patient_log(people.TOR)
    assert by(log, *LARS_CALLS) == [(READ, VITALS, PERMIT, False)]
    assert by(log, "demo-legevakt") == [(UPDATE, VITALS, PERMIT, False)]


async def test_a_health_person_acts_with_their_own_token_giving_the_name_it_lacks(esc):
    """An access token names the HPR number, not the name: the request gives the name (its HPR
    number left out or the token's own); without one the name is asked for by field."""
    escalation_id = esc.open(people.TOR)
    lars = await esc.as_lars()
    nameless = await refusal(esc.stub.AcknowledgeEscalation(ack(escalation_id), metadata=lars.metadata(ACK)))
    assert (
        nameless[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT") and "acknowledged_by.name" in nameless[2]
    )
    other = summary_pb2.Performer(hpr_number=people.SIGRID_HPR, name="Sigrid Sykepleiersen")
    refused = await refusal(esc.stub.AcknowledgeEscalation(ack(escalation_id, other), metadata=lars.metadata(ACK)))
    assert refused[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    named = summary_pb2.Performer(name="Lars Legevaktsen")
    taken = await esc.stub.AcknowledgeEscalation(ack(escalation_id, named), metadata=lars.metadata(ACK))
    assert taken.escalation.state == E.ESCALATION_STATE_ACKNOWLEDGED
    (acknowledged,) = [e for e in taken.escalation.events if e.kind == E.ESCALATION_EVENT_KIND_ACKNOWLEDGED]
    assert (acknowledged.person.hpr_number, acknowledged.person.name) == (people.LARS_HPR, "Lars Legevaktsen")


async def test_an_unknown_id_and_one_not_shared_answer_alike_and_nothing_is_audited(esc):
    escalation_id = esc.open(people.TOR)
    stranger = await esc.suite.auth("demo-ehr-baerum")  # Bærum legevakt: neither target nor source
    answers = [
        await refusal(esc.stub.GetEscalation(get(known), metadata=stranger)) for known in (escalation_id, UNKNOWN_ID)
    ]
    assert answers[0] == answers[1] and answers[0][:2] == (grpc.StatusCode.NOT_FOUND, "ESCALATION_NOT_FOUND")
    acting = await refusal(esc.stub.AcknowledgeEscalation(ack(escalation_id, BY_SIGRID), metadata=stranger))
    assert acting == answers[0]
    assert not [e for e in await esc.patient_log(people.TOR) if e.actor.client_id == "demo-ehr-baerum"]


async def test_a_restriction_needs_an_emergency_opening_with_a_justification(esc):
    escalation_id = esc.open(people.GUNNAR, scale=Spo2Scale.SCALE_2)  # seeds: a restriction on his vital signs
    treating, legevakt = await esc.as_lars(), await esc.as_legevakt()
    # One after the other (a gRPC call starts when it is made), so the log's order is theirs.
    refused = await refusal(esc.stub.GetEscalation(get(escalation_id), metadata=treating.metadata(GET)))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")
    refused = await refusal(
        esc.stub.AcknowledgeEscalation(ack(escalation_id, BY_LARS), metadata=legevakt.metadata(ACK))
    )
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")

    emergency, emergency_system = await esc.as_lars("ETREAT"), await esc.as_legevakt("ETREAT")
    unjustified = await refusal(esc.stub.GetEscalation(get(escalation_id), metadata=emergency.metadata(GET)))
    assert unjustified[:2] == (grpc.StatusCode.PERMISSION_DENIED, "JUSTIFICATION_REQUIRED")
    opened = await esc.stub.GetEscalation(get(escalation_id), metadata=emergency.metadata(GET, JUSTIFIED))
    assert opened.escalation.patient_id == people.GUNNAR and opened.escalation.state == E.ESCALATION_STATE_OPEN
    # Only a health person opens a restriction in an emergency (docs/consent.md), not a system.
    by_system = esc.stub.AcknowledgeEscalation(
        ack(escalation_id, BY_LARS), metadata=emergency_system.metadata(ACK, JUSTIFIED)
    )
    assert (await refusal(by_system))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")

    log = await esc.patient_log(people.GUNNAR)
    # Refused; then the emergency opening, flagged, with its justification.
    assert by(log, *LARS_CALLS) == [(READ, VITALS, DENY, False), (READ, VITALS, PERMIT, True)]
    assert by(log, "demo-legevakt") == [(UPDATE, VITALS, DENY, False), (UPDATE, VITALS, DENY, False)]
    # The justification is the auditors' to read (Lars works for Bodø kommune), never the patient's.
    assert {e.justification for e in log} == {""}
    audited = await audit_pb2_grpc.AuditServiceStub(esc.suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=people.GUNNAR), metadata=await esc.suite.auth("demo-auditor")
    )
    assert {e.justification for e in audited.events if e.flagged} == {JUSTIFIED[1]}


async def test_an_emergency_opening_of_an_escalation_is_a_signal_to_the_openers_auditor(esc):
    """Issue 17's "opened as emergencies": the audit's own signals catch it, no new kind. The
    opening is a flagged read on an emergency basis, so Bodø kommune's auditor (Lars's
    organisation) gets an emergency override and a restricted access naming GetEscalation."""
    escalation_id = esc.open(people.GUNNAR, scale=Spo2Scale.SCALE_2)  # seeds: a restriction on his vital signs
    ordinary = await esc.stub.GetEscalation(get(esc.open(people.TOR)), metadata=(await esc.as_lars()).metadata(GET))
    assert ordinary.escalation.patient_id == people.TOR  # an ordinary opening: no signal
    emergency = await esc.as_lars("ETREAT")
    await esc.stub.GetEscalation(get(escalation_id), metadata=emergency.metadata(GET, JUSTIFIED))

    audit = audit_pb2_grpc.AuditServiceStub(esc.suite.gateway)
    found = await audit.ListSignals(audit_pb2.ListSignalsRequest(), metadata=await esc.suite.auth("demo-auditor"))
    assert [(s.kind, s.actor.hpr_number) for s in found.signals] == [
        (audit_pb2.SIGNAL_KIND_EMERGENCY_OVERRIDE, people.LARS_HPR),
        (audit_pb2.SIGNAL_KIND_RESTRICTED_ACCESS, people.LARS_HPR),
    ]
    for signal in found.signals:
        (event,) = signal.events
        assert (event.method, event.patient_id, event.action) == (GET, people.GUNNAR, READ)
        assert (event.access_basis, event.justification) == (common_pb2.ACCESS_BASIS_EMERGENCY, JUSTIFIED[1])
        assert people.GUNNAR not in signal.summary


async def test_a_blocked_person_may_neither_open_nor_acknowledge_and_others_may(esc):
    escalation_id = esc.open(people.TOR)
    await consent_pb2_grpc.ConsentServiceStub(esc.suite.gateway).CreateRule(
        consent_pb2.CreateRuleRequest(
            patient_id=people.TOR,
            rule_type=consent_pb2.RULE_TYPE_BLOCK_PERSON,
            actor=consent_pb2.ActorSelector(hpr_number=people.LARS_HPR),
        ),
        metadata=await as_patient(esc.suite.settings, people.TOR),
    )
    lars = await esc.as_lars()
    refused = await refusal(esc.stub.GetEscalation(get(escalation_id), metadata=lars.metadata(GET)))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")
    refused = await refusal(esc.stub.AcknowledgeEscalation(ack(escalation_id), metadata=lars.metadata(ACK)))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")

    # The block is Lars's alone: the other target (home nursing's EHR, for Sigrid) opens and takes it.
    home_nursing = await esc.suite.auth("demo-ehr")
    assert (await esc.stub.GetEscalation(get(escalation_id), metadata=home_nursing)).escalation.state == (
        E.ESCALATION_STATE_OPEN
    )
    taken = await esc.stub.AcknowledgeEscalation(ack(escalation_id, BY_SIGRID), metadata=home_nursing)
    assert taken.escalation.state == E.ESCALATION_STATE_ACKNOWLEDGED
    assert by(await esc.patient_log(people.TOR), *LARS_CALLS) == [
        (READ, VITALS, DENY, False),
        (UPDATE, VITALS, DENY, False),
    ]


async def test_nothing_is_raised_or_listed_for_a_reserved_patient(esc):
    ehr = await esc.suite.auth("demo-ehr")
    concern = E.RaiseConcernRequest(
        patient_id=people.RAGNHILD,
        request_id="concern-1",
        level=summary_pb2.ESCALATION_LEVEL_URGENT,
        note="Virker slappere enn vanlig",
    )
    for call in (
        esc.stub.RaiseConcern(concern, metadata=ehr),
        esc.stub.ListPatientEscalations(E.ListPatientEscalationsRequest(patient_id=people.RAGNHILD), metadata=ehr),
    ):
        assert (await refusal(call))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")


async def test_the_inbox_needs_its_scope_and_is_no_patients(esc):
    without = await esc.suite.auth("demo-ehr", scope="nhn:samhandling/summary.read")
    refused = await refusal(esc.stub.ListEscalations(E.ListEscalationsRequest(), metadata=without))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "SCOPE_MISSING")
    patient = await as_patient(esc.suite.settings, people.TOR)
    refused = await refusal(esc.stub.ListEscalations(E.ListEscalationsRequest(), metadata=patient))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_NOT_ALLOWED")


async def test_the_lookup_itself_is_not_routed(esc):
    lookup = E.LookupEscalationPatientRequest(escalation_id=esc.open(people.TOR))
    refused = await refusal(esc.stub.LookupEscalationPatient(lookup, metadata=await esc.suite.auth("demo-ehr")))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "METHOD_NOT_ALLOWED")


async def test_the_json_routes_open_and_acknowledge_and_answer_a_stranger_not_found(esc):
    escalation_id = esc.open(people.TOR)
    base = f"http://{esc.suite.settings.addresses['gateway_http']}/api/v1/escalations"
    home_nursing = dict(await esc.suite.auth("demo-ehr"))
    stranger = dict(await esc.suite.auth("demo-ehr-baerum"))
    by_sigrid = {
        "requestId": "ack-1",
        "acknowledgedBy": {"hprNumber": people.SIGRID_HPR, "name": "Sigrid Sykepleiersen"},
    }
    async with httpx.AsyncClient(timeout=10.0) as client:
        opened = await client.get(f"{base}/{escalation_id}", headers=home_nursing)
        taken = await client.post(f"{base}/{escalation_id}:acknowledge", json=by_sigrid, headers=home_nursing)
        hidden = await client.get(f"{base}/{escalation_id}", headers=stranger)
        unknown = await client.get(f"{base}/{UNKNOWN_ID}", headers=stranger)
    assert opened.status_code == 200, opened.text
    assert opened.json()["escalation"]["patientId"] == people.TOR and opened.headers["cache-control"] == "no-store"
    assert taken.status_code == 200, taken.text
    assert taken.json()["escalation"]["state"] == "ESCALATION_STATE_ACKNOWLEDGED"
    assert hidden.status_code == unknown.status_code == 404 and hidden.json() == unknown.json()
    assert hidden.json()["error"]["reason"] == "ESCALATION_NOT_FOUND"


async def test_a_worsening_measurement_recorded_through_the_gateway_reaches_the_legevakt_who_opens_it(esc):
    ehr = await esc.suite.auth("demo-ehr")  # Bodø home nursing records at Tor's kitchen table
    recorded = await summary_pb2_grpc.PatientSummaryServiceStub(esc.suite.gateway).RecordVitalSigns(
        summary_pb2.RecordVitalSignsRequest(
            patient_id=people.TOR,
            source_record_id="kitchen-1",
            vital_signs=vital_signs(measure_time=datetime.now(UTC), respiration_rate=26, spo2=91, pulse=120),
        ),
        metadata=ehr,
    )
    assert recorded.escalation_id and recorded.escalation_level == summary_pb2.ESCALATION_LEVEL_EMERGENCY
    lars = await esc.as_lars()
    opened = await esc.stub.GetEscalation(get(recorded.escalation_id), metadata=lars.metadata(GET))
    assert (opened.escalation.patient_id, opened.escalation.source_orgnr) == (people.TOR, "910000020")
    assert "910000039" in {t.orgnr for t in opened.escalation.targets}  # Bodø interkommunale legevakt
    log = await esc.patient_log(people.TOR)
    assert by(log, *LARS_CALLS) == [(READ, VITALS, PERMIT, False)]
    assert by(log, "demo-ehr") == [(audit_pb2.ACTION_CREATE, VITALS, PERMIT, False)]


async def test_a_concern_is_raised_as_an_update_and_arrives_for_a_restricted_patient_too(esc):
    ehr = await esc.suite.auth("demo-ehr")
    for patient in (people.ESKIL, people.GUNNAR):  # Gunnar's restriction limits who sees, not who records
        raised = await esc.stub.RaiseConcern(
            E.RaiseConcernRequest(
                patient_id=patient,
                request_id=f"concern-{patient}",
                level=summary_pb2.ESCALATION_LEVEL_URGENT,
                note="Virker slappere enn vanlig",
                raised_by=BY_SIGRID,
            ),
            metadata=ehr,
        )
        assert raised.escalation.escalation_id and raised.escalation.origin == E.ESCALATION_ORIGIN_CONCERN
        # A write passes a restriction, so its answer holds nothing of the patient or the history.
        answered = raised.escalation
        assert (answered.patient_id, list(answered.events), list(answered.targets)) == ("", [], [])
        assert not answered.HasField("isbar") and not answered.measurements
        assert by(await esc.patient_log(patient), "demo-ehr") == [(UPDATE, VITALS, PERMIT, False)]


async def test_the_inbox_lists_and_watches_without_patient_data_and_audits_nothing(esc):
    escalation_id = esc.open(people.TOR)
    base = f"http://{esc.suite.settings.addresses['gateway_http']}/api/v1/escalations"
    home_nursing = dict(await esc.suite.auth("demo-ehr"))  # a target of Tor's escalation
    async with httpx.AsyncClient(timeout=10.0) as client:
        listed = await client.get(base, headers=home_nursing)
        async with client.stream("GET", f"{base}:watch", headers=home_nursing) as watch:
            first = json.loads(await anext(watch.aiter_lines()))
    assert listed.status_code == 200, listed.text
    assert [item["escalationId"] for item in listed.json()["escalations"]] == [escalation_id]
    assert [item["escalationId"] for item in first["snapshot"]["escalations"]] == [escalation_id]
    for answer in (listed.text, json.dumps(first)):
        assert people.TOR not in answer and "patient" not in answer.lower()
    assert by(await esc.patient_log(people.TOR), "demo-ehr") == []  # no patient, no audit event


async def test_the_patient_reads_their_own_escalations_and_no_one_elses(esc):
    escalation_id = esc.open(people.TOR)
    mine = await esc.stub.ListPatientEscalations(
        E.ListPatientEscalationsRequest(patient_id=people.TOR),
        metadata=await as_patient(esc.suite.settings, people.TOR),
    )
    assert [e.escalation_id for e in mine.escalations] == [escalation_id]
    assert [t.orgnr for t in mine.escalations[0].targets]  # who was told
    others = await refusal(
        esc.stub.ListPatientEscalations(
            E.ListPatientEscalationsRequest(patient_id=people.TOR),
            metadata=await as_patient(esc.suite.settings, people.ESKIL),
        )
    )
    assert others[:2] == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")
    log = reversed(await esc.patient_log(people.TOR))
    # His own read, then Eskil's attempt: audited as every read is.
    assert [(e.action, e.decision) for e in log if e.data_category == VITALS] == [(READ, PERMIT), (READ, DENY)]


async def test_the_export_is_a_read_served_as_fhir_and_the_statistics_need_the_inbox_scope(esc):
    escalation_id = esc.open(people.TOR)
    base = f"http://{esc.suite.settings.addresses['gateway_http']}/api/v1/escalations"
    home_nursing = dict(await esc.suite.auth("demo-ehr"))
    today = today_in_norway()  # the statistics' days are Norwegian; a day either side spares midnight
    days = {
        name: {"year": day.year, "month": day.month, "day": day.day}
        for name, day in (("startDate", today - timedelta(days=1)), ("endDate", today + timedelta(days=1)))
    }
    async with httpx.AsyncClient(timeout=10.0) as client:
        exported = await client.get(f"{base}/{escalation_id}/fhir", headers=home_nursing)
        counted = await client.post(f"{base}:statistics", json=days, headers=home_nursing)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/fhir+json")
    assert any(e["resource"]["resourceType"] == "Task" for e in json.loads(exported.content)["entry"])
    assert by(await esc.patient_log(people.TOR), "demo-ehr") == [(READ, VITALS, PERMIT, False)]
    assert counted.status_code == 200, counted.text
    assert [(d["level"], d["openedCount"]) for d in counted.json()["days"]] == [("ESCALATION_LEVEL_EMERGENCY", 1)]


async def test_only_a_health_person_enrols_a_patient_in_follow_up_or_ends_it(esc):
    enrol = E.EnrolFollowUpRequest(patient_id=people.TOR, request_id="enrol-1", team_name="Hjerteteamet")
    refused = await refusal(esc.stub.EnrolFollowUp(enrol, metadata=await esc.suite.auth("demo-ehr")))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_NOT_ALLOWED")
    end = E.EndFollowUpRequest(patient_id=people.TOR, enrolment_id="fu-unknown", request_id="end-1")
    refused = await refusal(esc.stub.EndFollowUp(end, metadata=await esc.suite.auth("demo-ehr")))
    assert refused[:2] == (grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_NOT_ALLOWED")


ENROL, END = SERVICE + "EnrolFollowUp", SERVICE + "EndFollowUp"
ALWAYS_OPEN = E.OpeningHours(
    intervals=[E.OpeningInterval(weekday=d, start_minute=0, end_minute=1440) for d in range(1, 8)]
)


async def test_a_health_person_enrols_and_ends_a_follow_up_and_the_patient_sees_two_updates(esc):
    lars = await esc.as_lars()
    enrol = E.EnrolFollowUpRequest(
        patient_id=people.TOR,
        request_id="lars-enrol-1",
        team_name="Legevaktens oppfølging",
        opening_hours=ALWAYS_OPEN,
        enrolled_by=summary_pb2.Performer(name="Lars Legevaktsen"),
    )
    enrolled = (await esc.stub.EnrolFollowUp(enrol, metadata=lars.metadata(ENROL))).enrolment
    assert (enrolled.patient_id, enrolled.team_orgnr) == (people.TOR, "910000039")
    # Another patient's id with the enrolment's: answered as an id that does not exist.
    url = f"http://{esc.suite.settings.addresses['gateway_http']}/api/v1/patients/{{}}/follow-ups/{{}}:end"
    body = {"requestId": "lars-end-1", "endedBy": {"name": "Lars Legevaktsen"}}
    async with httpx.AsyncClient(timeout=10.0) as client:
        answers = {
            (patient, enrolment_id): await client.post(
                url.format(patient, enrolment_id),
                json=body,
                headers=lars.http_headers("POST", url.format(patient, enrolment_id)),
            )
            for patient, enrolment_id in (
                (people.ESKIL, enrolled.enrolment_id),
                (people.ESKIL, "fu-unknown"),
                (people.TOR, enrolled.enrolment_id),
            )
        }
    other_patients, unknown, ended = answers.values()
    assert other_patients.status_code == unknown.status_code == 404, other_patients.text
    assert other_patients.json() == unknown.json()
    assert other_patients.json()["error"]["reason"] == "ENROLMENT_NOT_FOUND"
    assert ended.status_code == 200, ended.text
    assert ended.json()["enrolment"]["enrolmentId"] == enrolled.enrolment_id
    assert ended.json()["enrolment"]["endedBy"] == {"hprNumber": people.LARS_HPR, "name": "Lars Legevaktsen"}
    assert "endTime" in ended.json()["enrolment"]
    log = await esc.patient_log(people.TOR)
    assert by(log, *LARS_CALLS) == [(UPDATE, VITALS, PERMIT, False), (UPDATE, VITALS, PERMIT, False)]
    # The refused ends were decided and audited for the patient they named.
    assert by(await esc.patient_log(people.ESKIL), *LARS_CALLS) == [(UPDATE, VITALS, PERMIT, False)] * 2


async def test_once_the_caller_may_see_the_escalation_a_missing_request_id_is_named(esc):
    escalation_id = esc.open(people.TOR)
    base = f"http://{esc.suite.settings.addresses['gateway_http']}/api/v1/escalations/{escalation_id}"
    home_nursing = dict(await esc.suite.auth("demo-ehr"))
    sigrid = {"hprNumber": people.SIGRID_HPR, "name": "Sigrid Sykepleiersen"}
    async with httpx.AsyncClient(timeout=10.0) as client:
        answers = {
            action: await client.post(f"{base}:{action}", json=body, headers=home_nursing)
            for action, body in (
                ("acknowledge", {"acknowledgedBy": sigrid}),
                ("decline", {"declinedBy": sigrid, "reason": "Ikke vårt område"}),
                ("resolve", {"resolvedBy": sigrid, "outcome": "ESCALATION_OUTCOME_MANAGED_IN_PLACE"}),
            )
        }
    for action, answer in answers.items():
        assert answer.status_code == 400, (action, answer.text)
        assert "request_id" in {v["field"] for v in answer.json()["error"]["fieldViolations"]}, (action, answer.text)


async def test_an_escalation_acknowledged_late_and_its_exhausted_chain_are_signals_to_the_auditor(esc):
    """docs/escalation.md "Auditors' signals": an EMERGENCY raised an hour ago, its chain exhausted by
    a sweep (the suite's own sweeper may fire it first: the same transition, once), then taken by
    the legevakt: Bodø kommune's auditor sees both, on gRPC and on the JSON route; a health person
    and a patient are refused exactly as for the audit's ListSignals."""
    escalation_id = exhausted_emergency(esc.store, people.TOR, datetime.now(UTC) - timedelta(hours=1))
    legevakt = await esc.as_legevakt()
    await esc.stub.AcknowledgeEscalation(ack(escalation_id, BY_LARS), metadata=legevakt.metadata(ACK))

    auditor = await esc.suite.auth("demo-auditor")
    found = await esc.stub.ListEscalationSignals(E.ListEscalationSignalsRequest(), metadata=auditor)
    assert [(s.kind, s.escalation_id) for s in found.signals] == [
        (E.ESCALATION_SIGNAL_KIND_ACKNOWLEDGED_LATE, escalation_id),
        (E.ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED, escalation_id),
    ]
    late = found.signals[0]
    assert (late.orgnr, late.person.hpr_number, late.person.name) == ("910000039", people.LARS_HPR, "Lars Legevaktsen")
    assert late.late_by.ToTimedelta() > timedelta(minutes=50)
    assert people.TOR.encode() not in found.SerializeToString()

    url = f"http://{esc.suite.settings.addresses['gateway_http']}/api/v1/escalations:signals"
    async with httpx.AsyncClient(timeout=10.0) as client:
        answer = await client.get(url, params={"kind": "ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED"}, headers=dict(auditor))
    assert answer.status_code == 200, answer.text
    assert [(s["kind"], s["escalationId"]) for s in answer.json()["signals"]] == [
        ("ESCALATION_SIGNAL_KIND_CHAIN_EXHAUSTED", escalation_id)
    ]

    audit = audit_pb2_grpc.AuditServiceStub(esc.suite.gateway)
    signals, audits = SERVICE + "ListEscalationSignals", "/samhandling.audit.v1.AuditService/ListSignals"
    lars, patient = await esc.as_lars(), await as_patient(esc.suite.settings, people.TOR)
    for own, audit_own in ((lars.metadata(signals), lars.metadata(audits)), (patient, patient)):
        refused = await refusal(esc.stub.ListEscalationSignals(E.ListEscalationSignalsRequest(), metadata=own))
        as_for_audit = await refusal(audit.ListSignals(audit_pb2.ListSignalsRequest(), metadata=audit_own))
        assert refused[:2] == as_for_audit[:2] and refused[0] == grpc.StatusCode.PERMISSION_DENIED


async def test_a_measurement_refused_for_a_reserved_patient_tells_the_recorder_to_follow_its_own_routine(esc):
    """Ragnhild has reserved herself: nothing is stored, so nothing escalates, and the recorder
    (Bodø home nursing's EHR) is told so and to follow its own routine, in the words every refused
    measurement gets whatever its cause (docs/escalation.md "Through the gateway")."""
    ehr = await esc.suite.auth("demo-ehr")
    request = summary_pb2.RecordVitalSignsRequest(
        patient_id=people.RAGNHILD,
        source_record_id="kitchen-reserved",
        vital_signs=vital_signs(measure_time=datetime.now(UTC), respiration_rate=26, spo2=91, pulse=120),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await summary_pb2_grpc.PatientSummaryServiceStub(esc.suite.gateway).RecordVitalSigns(request, metadata=ehr)
    assert (caught.value.code(), caught.value.details()) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "access to this patient's data is not permitted: nothing was stored and no alert was sent; "
        "follow your organisation's own routine (116117, in an emergency 113)",
    )
    (detail,) = rpc_status.from_call(caught.value).details  # type: ignore[arg-type, union-attr]
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    assert (info.reason, dict(info.metadata)) == (
        "CONSENT_DENIED",
        {
            "stored": "false",
            "alerted": "false",
            "phone_numbers": "116117 113",
            "text_nb": "Ingenting ble lagret og ingen ble varslet. Følg egen rutine (116117, ved akutt fare 113).",
        },
    )
    assert esc.store.open_episode(people.RAGNHILD) is None
    _, stored, _ = esc.summary.list_measurements(
        people.RAGNHILD, datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1), 10
    )
    assert stored == []
