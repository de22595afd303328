"""The gateway's side of the EscalationService (docs/escalation.md "Through the gateway"): the
policy rows, and the patient learnt from an escalation id before consent and audit, with
fake backends (a unit test; the real path is tests/integration/test_escalation_gateway.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider

from gateway import oauth_scopes
from gateway.calls import IncomingCall
from gateway.enforcement import Enforcer
from gateway.grpc_handlers import SERVICES
from gateway.policy import LOOKUP_ESCALATION_PATIENT, POLICIES
from gateway.principal import Principal
from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2 as E
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError
from services.platform.vocabulary import ActorKind as Kind
from tests.fixtures import people

SERVICE = "/samhandling.summary.v1.EscalationService/"
INBOX = ("ListEscalations", "WatchEscalations", "GetEscalationStatistics")
BY_ID = ("GetEscalation", "ExportEscalation")
ACTIONS = ("AcknowledgeEscalation", "DeclineEscalation", "PlanReassessment", "ResolveEscalation")
VITALS = common_pb2.DATA_CATEGORY_VITAL_SIGNS
ESCALATION_ID = "esc-0001"
READ, UPDATE = audit_pb2.ACTION_READ, audit_pb2.ACTION_UPDATE


def test_every_method_but_the_lookup_has_a_row_and_the_lookup_none():
    (service,) = [s for s in SERVICES if s.name == "EscalationService"]
    methods = {SERVICE + m.name for m in service.methods}
    assert LOOKUP_ESCALATION_PATIENT in methods and LOOKUP_ESCALATION_PATIENT not in POLICIES
    routed = {m for m in methods if m in POLICIES}
    assert methods - routed == {LOOKUP_ESCALATION_PATIENT}
    assert all(POLICIES[m].backend == "summary" for m in routed)


def test_the_auditors_signals_are_the_audit_scopes_as_the_audits_signals_and_concern_no_patient():
    signals, audits = (
        POLICIES[SERVICE + "ListEscalationSignals"],
        POLICIES["/samhandling.audit.v1.AuditService/ListSignals"],
    )
    assert dict(signals.access) == dict(audits.access) == {Kind.AUDITOR: oauth_scopes.AUDIT_READ}
    assert (signals.action, signals.concerns_patient, signals.categories) == (audits.action, False, ())


@pytest.mark.parametrize("name", INBOX)
def test_the_inbox_needs_its_own_scope_and_concerns_no_patient(name):
    policy = POLICIES[SERVICE + name]
    assert dict(policy.access) == {
        Kind.SYSTEM: oauth_scopes.ESCALATION_INBOX,
        Kind.PERSONNEL: oauth_scopes.ESCALATION_INBOX,
    }
    assert not policy.concerns_patient and policy.categories == ()


@pytest.mark.parametrize(("name", "audited"), [*((n, READ) for n in BY_ID), *((n, UPDATE) for n in ACTIONS)])
def test_opening_and_acting_are_reads_of_vital_signs_of_the_looked_up_patient(name, audited):
    policy = POLICIES[SERVICE + name]
    assert policy.patient_lookup is not None and policy.patient_lookup.field == "escalation_id"
    assert policy.patient_field is None and policy.concerns_patient
    assert (policy.categories, policy.action, policy.writes) == ((VITALS,), audited, False)
    assert dict(policy.access) == {Kind.SYSTEM: oauth_scopes.SUMMARY_READ, Kind.PERSONNEL: oauth_scopes.SUMMARY_READ}


def test_a_concern_is_an_update_of_vital_signs_and_enrolment_is_for_health_personnel():
    concern, enrol, end = (POLICIES[SERVICE + n] for n in ("RaiseConcern", "EnrolFollowUp", "EndFollowUp"))
    for policy in (concern, enrol, end):
        assert (policy.patient_field, policy.categories, policy.action, policy.writes) == (
            "patient_id",
            (VITALS,),
            UPDATE,
            True,
        )
    assert set(concern.access) == {Kind.SYSTEM, Kind.PERSONNEL}
    assert dict(enrol.access) == dict(end.access) == {Kind.PERSONNEL: oauth_scopes.SUMMARY_WRITE}


def test_the_patient_reads_their_own_escalations_as_their_other_reads():
    mine = POLICIES[SERVICE + "ListPatientEscalations"]
    vitals = POLICIES["/samhandling.summary.v1.PatientSummaryService/ListVitalSigns"]
    assert mine.access == vitals.access and Kind.PATIENT in mine.access
    assert (mine.patient_field, mine.categories, mine.action) == ("patient_id", (VITALS,), READ)


# -- the lookup, with fake backends ----------------------------------------------------------


def lars() -> Principal:
    return Principal(
        kind=Kind.PERSONNEL,
        client_id="demo-legevakt",
        client_name="Demo legevakt",
        scopes=frozenset({oauth_scopes.SUMMARY_READ}),
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
        pid=people.LARS,
        hpr_number=people.LARS_HPR,
        orgnr_parent="910000012",
        orgnr_child="910000039",
    )


class StubAuthenticator:
    async def authenticate(self, call: IncomingCall) -> Principal:
        return lars()


def rpc_error(error: ServiceError) -> grpc.aio.AioRpcError:
    status = error.to_status()
    return grpc.aio.AioRpcError(
        status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), details=status.details
    )


class Backends:
    """BackendChannels answering the lookup as scripted, consent as `decision`, and recording
    every call (a fake: unit test)."""

    def __init__(self, lookup: str | grpc.aio.AioRpcError, decision: int = common_pb2.DECISION_PERMIT) -> None:
        self.lookup, self.decision = lookup, decision
        self.calls: list[tuple[str, object, Message]] = []
        self.tracer_provider = TracerProvider()

    async def call(self, component, assertion, request, response_type):
        self.calls.append((assertion.method, assertion, request))
        if assertion.method == LOOKUP_ESCALATION_PATIENT:
            if isinstance(self.lookup, grpc.aio.AioRpcError):
                raise self.lookup
            return response_type(patient_id=self.lookup)
        if component == "consent":
            decided = consent_pb2.CheckAccessResponse(decision=self.decision, decision_id="d1")
            return response_type(responses=[decided] * len(request.requests))
        return response_type()

    def methods(self) -> list[str]:
        return [method.rsplit("/", 1)[1] for method, _, _ in self.calls]

    def asked(self, method: str) -> list[tuple[object, Message]]:
        return [(a, r) for m, a, r in self.calls if m.endswith("/" + method)]


async def call(backends: Backends, name: str, request: Message) -> Message:
    method = SERVICE + name
    enforcer = Enforcer(StubAuthenticator(), backends, allow_synthetic=True)  # type: ignore[arg-type]
    incoming = IncomingCall(method, (("authorization", "Bearer x"),), "ipv4:127.0.0.1:5000")
    response_type = {"GetEscalation": E.GetEscalationResponse}.get(name, E.AcknowledgeEscalationResponse)
    return await enforcer.handle(incoming, POLICIES[method], request, response_type)


async def test_the_patient_is_looked_up_with_the_callers_assertion_then_decided_audited_and_forwarded():
    backends = Backends(lookup=people.ESKIL)
    await call(backends, "AcknowledgeEscalation", E.AcknowledgeEscalationRequest(escalation_id=ESCALATION_ID))

    # The lookup, then consent; then the audit and the forwarded call side by side.
    methods = backends.methods()
    assert methods[:2] == ["LookupEscalationPatient", "BatchCheckAccess"]
    assert sorted(methods[2:]) == ["AcknowledgeEscalation", "AppendEvents"]
    [(lookup_assertion, lookup_request)] = backends.asked("LookupEscalationPatient")
    assert lookup_request == E.LookupEscalationPatientRequest(escalation_id=ESCALATION_ID)
    assert lookup_assertion.patient_id == "" and lookup_assertion.actor.hpr_number == people.LARS_HPR
    [(_, consent_request)] = backends.asked("BatchCheckAccess")
    [asked] = consent_request.requests
    assert (asked.patient_id, asked.data_category, asked.write) == (people.ESKIL, VITALS, False)  # decided as a read
    [(_, append)] = backends.asked("AppendEvents")
    [event] = append.events
    assert (event.patient_id, event.action, event.data_category) == (
        people.ESKIL,
        UPDATE,
        VITALS,
    )  # audited as an update
    [(forwarded, request)] = backends.asked("AcknowledgeEscalation")
    assert (forwarded.patient_id, forwarded.data_categories) == (people.ESKIL, (VITALS,))
    assert request == E.AcknowledgeEscalationRequest(escalation_id=ESCALATION_ID)


async def test_nothing_is_kept_the_lookup_runs_on_every_call():
    backends = Backends(lookup=people.ESKIL)
    for _ in range(2):
        await call(backends, "GetEscalation", E.GetEscalationRequest(escalation_id=ESCALATION_ID))
    assert backends.methods().count("LookupEscalationPatient") == 2


async def test_an_unknown_or_unshared_escalation_is_not_found_and_nothing_of_a_patient_is_asked_or_logged(caplog):
    caplog.set_level(logging.DEBUG)
    not_found = Reason.ESCALATION_NOT_FOUND.error("no such escalation")
    backends = Backends(lookup=rpc_error(not_found))
    with pytest.raises(ServiceError) as err:
        await call(backends, "GetEscalation", E.GetEscalationRequest(escalation_id=ESCALATION_ID))
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.NOT_FOUND, "ESCALATION_NOT_FOUND")
    assert backends.methods() == ["LookupEscalationPatient"]  # no consent, no audit, no forwarding
    # As for any NOT_FOUND: the security log holds refusals of identity and permission only.
    assert not [r for r in caplog.records if r.name == "gateway.security"]
    assert not any(ESCALATION_ID in r.getMessage() or ESCALATION_ID in str(r.__dict__) for r in caplog.records)


async def test_a_lookup_that_cannot_be_done_serves_nothing():
    down = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="down")
    backends = Backends(lookup=down)
    with pytest.raises(ServiceError) as err:
        await call(backends, "GetEscalation", E.GetEscalationRequest(escalation_id=ESCALATION_ID))
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE")
    assert backends.methods() == ["LookupEscalationPatient"]


async def test_a_lookup_answering_no_person_number_is_an_internal_error():
    backends = Backends(lookup="")
    with pytest.raises(ServiceError) as err:
        await call(backends, "GetEscalation", E.GetEscalationRequest(escalation_id=ESCALATION_ID))
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.INTERNAL, "INTERNAL")
    assert backends.methods() == ["LookupEscalationPatient"]


async def test_a_refusal_by_consent_is_audited_with_the_looked_up_patient_and_never_forwarded():
    backends = Backends(lookup=people.GUNNAR, decision=common_pb2.DECISION_DENY)
    with pytest.raises(ServiceError) as err:
        await call(backends, "DeclineEscalation", E.DeclineEscalationRequest(escalation_id=ESCALATION_ID))
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED")
    assert backends.methods() == ["LookupEscalationPatient", "BatchCheckAccess", "AppendEvents"]
    [(_, append)] = backends.asked("AppendEvents")
    assert [(e.patient_id, e.action, e.decision) for e in append.events] == [
        (people.GUNNAR, UPDATE, common_pb2.DECISION_DENY)
    ]


def test_the_documents_page_sizes_are_the_summary_services():
    from gateway.http import proto_schema
    from services.summary import api

    assert (
        proto_schema.MAX_INBOX_PAGE,
        proto_schema.MAX_PATIENT_ESCALATIONS_PAGE,
        proto_schema.MAX_ESCALATION_SIGNALS_PAGE,
    ) == (api.MAX_INBOX_PAGE, api.MAX_PATIENT_PAGE, api.MAX_SIGNAL_PAGE)
