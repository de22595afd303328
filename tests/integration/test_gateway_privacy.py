"""What a caller without a basis learns about a patient (docs/consent.md "What a caller without a basis
learns about a patient"), through the real suite with real STS tokens: a reserved patient, a
person number the suite does not know and a patient whose rules refuse the caller give the same
status, message and ErrorInfo on every RPC and JSON route that takes a patient id; the patient
learns the truth, and the audit log and the security log record what happened."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from grpc_status import rpc_status

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from samhandling.summary.v1 import escalation_pb2, summary_pb2
from services.platform.errors import error_info
from tests.fixtures import people
from tests.fixtures.health_person import HealthPerson
from tests.fixtures.patient_calls import as_patient
from tests.support import Suite

S = summary_pb2
E = escalation_pb2
RESERVED = people.RAGNHILD  # seeds: a reservation against all sharing (home Bærum)
UNKNOWN = "01818010083"  # a valid synthetic (Tenor) number that no seed knows
RESTRICTED = people.GUNNAR  # seeds: home Bodø, vital signs restricted
PERSON_NUMBERS = (RESERVED, UNKNOWN, RESTRICTED, people.ODD, people.ESKIL, people.LARS)
NO_ACCESS = (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED", "access to this patient's data is not permitted")
# A refused measurement tells the recorder nothing was stored or sent (docs/escalation.md), alike for every cause.
MEASUREMENT_REFUSED = NO_ACCESS[:2] + (
    NO_ACCESS[2] + ": nothing was stored and no alert was sent; "
    "follow your organisation's own routine (116117, in an emergency 113)",
)
SUMMARY = "/samhandling.summary.v1.PatientSummaryService/"
ESCALATION = "/samhandling.summary.v1.EscalationService/"
CONSENT = "/samhandling.consent.v1.ConsentService/"
LIST_EVENTS = "/samhandling.audit.v1.AuditService/ListEvents"


Metadata = tuple[tuple[str, str], ...]
Caller = Callable[[Suite, str], Awaitable[Metadata]]  # (suite, full method) -> fresh metadata


def system(client_id: str) -> Caller:
    async def metadata(suite: Suite, method: str) -> Metadata:
        return await suite.auth(client_id)

    return metadata


def patient(patient_id: str) -> Caller:
    async def metadata(suite: Suite, method: str) -> Metadata:
        return await as_patient(suite.settings, patient_id)

    return metadata


async def lars(suite: Suite, method: str) -> Metadata:
    """Lars at the legevakt, treating (without a purpose of use consent refuses every patient alike,
    and the request would never reach the summary service)."""
    return (await HealthPerson.signed_in(suite, "TREAT")).metadata(method)


LARS_NAMED = S.Performer(name="Lars Legevaktsen")  # his token carries no name: the request gives it


def at(when: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


def vital_signs() -> S.VitalSigns:
    return S.VitalSigns(
        measure_time=at(datetime.now(UTC) - timedelta(minutes=5)),
        respiration_rate=16,
        spo2=97,
        systolic_bp=120,
        pulse=70,
        consciousness=S.CONSCIOUSNESS_ALERT,
        temperature_celsius=37.0,
    )


def service() -> S.MunicipalServiceInput:
    return S.MunicipalServiceInput(iplos_code="06", start_date=common_pb2.Date(year=2026, month=1, day=2))


@dataclass(frozen=True)
class Row:
    method: str
    caller: Caller
    request: Callable[[str], Message]
    refused: str | None  # a known patient this caller is refused for on this method (None: there is none)


ROWS = [
    # Readers outside the patients' parent organisation (Bærum reading Bodø's restricted patient).
    Row(
        SUMMARY + "GetPatientSummary",
        system("demo-ehr-baerum"),
        lambda p: S.GetPatientSummaryRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(
        SUMMARY + "ExportPatientBundle",
        system("demo-ehr-baerum"),
        lambda p: S.ExportPatientBundleRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(
        SUMMARY + "GetMunicipalServiceStatus",
        system("demo-ehr-baerum"),
        lambda p: S.GetMunicipalServiceStatusRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(
        SUMMARY + "ListVitalSigns",
        system("demo-ehr-baerum"),
        lambda p: S.ListVitalSignsRequest(patient_id=p, from_time=at(datetime(2025, 1, 1, tzinfo=UTC))),
        RESTRICTED,
    ),
    # A request the summary would refuse tells no more: the patient is looked up first.
    Row(
        SUMMARY + "ListVitalSigns",
        system("demo-ehr-baerum"),
        lambda p: S.ListVitalSignsRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(SUMMARY + "SetSpo2Scale", lars, lambda p: S.SetSpo2ScaleRequest(patient_id=p, scale=7), None),
    Row(
        SUMMARY + "RecordVitalSigns",
        system("demo-ehr"),
        lambda p: S.RecordVitalSignsRequest(patient_id=p, source_record_id="", vital_signs=S.VitalSigns()),
        None,
    ),
    # Writers: vital signs are recorded from any organisation, so only the reservation refuses.
    Row(
        SUMMARY + "RecordVitalSigns",
        system("demo-ehr"),
        lambda p: S.RecordVitalSignsRequest(patient_id=p, source_record_id="obs-privacy-1", vital_signs=vital_signs()),
        None,
    ),
    Row(SUMMARY + "SetSpo2Scale", lars, lambda p: S.SetSpo2ScaleRequest(patient_id=p, scale=2), None),
    # Municipal services are written by the data holder (the home organisation) only.
    Row(
        SUMMARY + "CreateMunicipalService",
        system("demo-ehr"),
        lambda p: S.CreateMunicipalServiceRequest(patient_id=p, source_record_id="okt-privacy-1", service=service()),
        people.ODD,
    ),
    Row(
        SUMMARY + "UpdateMunicipalService",
        system("demo-ehr"),
        lambda p: S.UpdateMunicipalServiceRequest(patient_id=p, source_record_id="svc-0001", service=service()),
        people.ODD,
    ),
    Row(
        SUMMARY + "EndMunicipalService",
        system("demo-ehr"),
        lambda p: S.EndMunicipalServiceRequest(
            patient_id=p, source_record_id="svc-0001", end_date=common_pb2.Date(year=2026, month=2, day=1)
        ),
        people.ODD,
    ),
    Row(
        SUMMARY + "SetMunicipalServiceOnHold",
        system("demo-ehr"),
        lambda p: S.SetMunicipalServiceOnHoldRequest(patient_id=p, source_record_id="svc-0001", on_hold=True),
        people.ODD,
    ),
    # The EscalationService's methods naming a patient, each with a good request and a malformed
    # one (every field problem it names for a known patient): the patient is looked up first.
    *[
        Row(ESCALATION + "RaiseConcern", system("demo-ehr"), request, None)
        for request in (
            lambda p: E.RaiseConcernRequest(
                patient_id=p,
                request_id="concern-privacy-1",
                level=S.ESCALATION_LEVEL_URGENT,
                note="Virker mer forvirret enn i går",
                raised_by=S.Performer(hpr_number=people.SIGRID_HPR, name="Sigrid Sykepleier"),
            ),
            lambda p: E.RaiseConcernRequest(patient_id=p),
        )
    ],
    *[
        Row(ESCALATION + "ListPatientEscalations", system("demo-ehr-baerum"), request, RESTRICTED)
        for request in (
            lambda p: E.ListPatientEscalationsRequest(patient_id=p),
            lambda p: E.ListPatientEscalationsRequest(patient_id=p, page_size=999, page_token="not a token"),
        )
    ],
    *[
        Row(ESCALATION + "EnrolFollowUp", lars, request, None)
        for request in (
            lambda p: E.EnrolFollowUpRequest(
                patient_id=p,
                request_id="enrol-privacy-1",
                team_name="Digital hjemmeoppfølging",
                opening_hours=E.OpeningHours(intervals=[E.OpeningInterval(weekday=1, start_minute=0, end_minute=1440)]),
                enrolled_by=LARS_NAMED,
            ),
            lambda p: E.EnrolFollowUpRequest(patient_id=p),
        )
    ],
    *[
        Row(ESCALATION + "EndFollowUp", lars, request, None)
        for request in (
            lambda p: E.EndFollowUpRequest(
                patient_id=p, enrolment_id="fu-privacy-1", request_id="end-privacy-1", ended_by=LARS_NAMED
            ),
            lambda p: E.EndFollowUpRequest(patient_id=p),
        )
    ],
    # A patient asking about someone else.
    Row(
        SUMMARY + "GetPatientSummary",
        patient(people.ESKIL),
        lambda p: S.GetPatientSummaryRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(LIST_EVENTS, patient(people.ESKIL), lambda p: audit_pb2.ListEventsRequest(patient_id=p), RESTRICTED),
    Row(CONSENT + "ListRules", patient(people.ESKIL), lambda p: consent_pb2.ListRulesRequest(patient_id=p), RESTRICTED),
    Row(
        CONSENT + "ListRuleHistory",
        patient(people.ESKIL),
        lambda p: consent_pb2.ListRuleHistoryRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(
        CONSENT + "ListNotifications",
        patient(people.ESKIL),
        lambda p: consent_pb2.ListNotificationsRequest(patient_id=p),
        RESTRICTED,
    ),
    Row(
        CONSENT + "RevokeRule",
        patient(people.ESKIL),
        lambda p: consent_pb2.RevokeRuleRequest(patient_id=p, rule_id="rule-seed-0001", reason="x"),
        RESTRICTED,
    ),
]


async def refusal(suite: Suite, row: Row, patient_id: str) -> tuple[grpc.StatusCode, str, str, bytes]:
    """(code, ErrorInfo reason, message, the whole google.rpc.Status as bytes) of a refused call."""
    call = suite.gateway.unary_unary(row.method, request_serializer=lambda m: m.SerializeToString())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(row.request(patient_id), metadata=await row.caller(suite, row.method))
    status = rpc_status.from_call(err.value)
    assert status is not None, (row.method, patient_id, err.value.code(), err.value.details())
    return err.value.code(), error_info(err.value)[0], err.value.details(), status.SerializeToString(deterministic=True)


async def test_reserved_unknown_and_refused_patients_answer_alike_on_every_rpc(suite):
    for row in ROWS:
        patients = [RESERVED, UNKNOWN] + ([row.refused] if row.refused else [])
        answers = {p: await refusal(suite, row, p) for p in patients}
        expected = MEASUREMENT_REFUSED if row.method.endswith("RecordVitalSigns") else NO_ACCESS
        assert {answer[:3] for answer in answers.values()} == {expected}, (row.method, answers)
        assert len({answer[3] for answer in answers.values()}) == 1, (row.method, answers)


async def test_the_audit_log_records_what_happened(suite):
    record = next(r for r in ROWS if r.method.endswith("RecordVitalSigns"))
    for patient_id in (RESERVED, UNKNOWN):
        assert (await refusal(suite, record, patient_id))[:3] == MEASUREMENT_REFUSED
    log = audit_pb2_grpc.AuditServiceStub(suite.gateway)
    auditor = await suite.auth("demo-auditor")  # the same organisation as demo-ehr

    async def by_demo_ehr(patient_id: str) -> list[tuple[int, int]]:
        events = (await log.ListEvents(audit_pb2.ListEventsRequest(patient_id=patient_id), metadata=auditor)).events
        return [(e.decision, e.access_basis) for e in events if e.actor.client_id == "demo-ehr"]

    # The reservation refused; for the unknown number consent permitted and the summary knew no one.
    assert await by_demo_ehr(RESERVED) == [(common_pb2.DECISION_DENY, common_pb2.ACCESS_BASIS_RESERVATION)]
    assert await by_demo_ehr(UNKNOWN) == [(common_pb2.DECISION_PERMIT, common_pb2.ACCESS_BASIS_CARE_RELATIONSHIP)]


async def test_the_reserved_patient_reads_their_own_summary(suite):
    call = suite.gateway.unary_unary(
        SUMMARY + "GetPatientSummary",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=S.GetPatientSummaryResponse.FromString,
    )
    own = await call(S.GetPatientSummaryRequest(patient_id=RESERVED), metadata=await patient(RESERVED)(suite, ""))
    assert own.patient_id == RESERVED


async def test_the_json_routes_answer_alike(suite):
    token = await suite.token("demo-ehr-baerum")
    base = f"http://{suite.settings.addresses['gateway_http']}/api/v1/patients"
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}) as client:
        for path in (
            "summary",
            "fhir",
            "municipal-services:status",
            "vital-signs?from_time=2025-01-01T00:00:00Z",
            "escalations",
            "escalations?page_token=not-a-token",  # malformed: the patient is looked up first
        ):
            answers = set()
            for patient_id in (RESERVED, UNKNOWN, RESTRICTED):
                response = await client.get(f"{base}/{patient_id}/{path}")
                answers.add((response.status_code, response.headers["content-type"], response.content))
            assert len(answers) == 1, (path, answers)
            status, _, body = answers.pop()
            assert status == 403 and json.loads(body)["error"]["reason"] == "CONSENT_DENIED"


def security_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.security"]


async def test_every_refusal_is_logged_to_gateway_security_without_person_numbers(suite, caplog):
    caplog.set_level(logging.INFO, logger="gateway.security")
    summary = suite.gateway.unary_unary(
        SUMMARY + "GetPatientSummary", request_serializer=lambda m: m.SerializeToString()
    )
    record_vitals = next(r for r in ROWS if r.method.endswith("RecordVitalSigns"))
    baerum, ehr = await suite.auth("demo-ehr-baerum"), await suite.auth("demo-ehr")
    bearer_as_dpop = (("authorization", ehr[0][1].replace("Bearer ", "DPoP ")),)
    record = suite.gateway.unary_unary(record_vitals.method, request_serializer=lambda m: m.SerializeToString())
    list_rules = suite.gateway.unary_unary(CONSENT + "ListRules", request_serializer=lambda m: m.SerializeToString())
    check_access = suite.gateway.unary_unary(
        CONSENT + "CheckAccess", request_serializer=lambda m: m.SerializeToString()
    )
    # (the call, made only when its turn comes; the reason; the client named; the method)
    refusals = [
        (
            lambda: summary(S.GetPatientSummaryRequest(patient_id=people.ESKIL)),
            "TOKEN_MISSING",
            "",
            "GetPatientSummary",
        ),
        (
            lambda: summary(S.GetPatientSummaryRequest(patient_id=people.ESKIL), metadata=bearer_as_dpop),
            "DPOP_TOKEN_NOT_BOUND",
            "demo-ehr",
            "GetPatientSummary",
        ),
        (
            lambda: record(record_vitals.request(people.ESKIL), metadata=baerum),
            "SCOPE_MISSING",
            "demo-ehr-baerum",
            "RecordVitalSigns",
        ),  # the policy table
        (
            lambda: list_rules(consent_pb2.ListRulesRequest(patient_id=people.ESKIL), metadata=ehr),
            "PRINCIPAL_NOT_ALLOWED",
            "demo-ehr",
            "ListRules",
        ),
        (
            lambda: check_access(consent_pb2.CheckAccessRequest(patient_id=people.ESKIL), metadata=ehr),
            "METHOD_NOT_ALLOWED",
            "",
            "CheckAccess",
        ),  # refused before the token is read
        (
            lambda: summary(S.GetPatientSummaryRequest(patient_id=RESERVED), metadata=baerum),
            "CONSENT_DENIED",
            "demo-ehr-baerum",
            "GetPatientSummary",
        ),  # consent: a reservation
        (
            lambda: summary(S.GetPatientSummaryRequest(patient_id=RESTRICTED), metadata=baerum),
            "CONSENT_DENIED",
            "demo-ehr-baerum",
            "GetPatientSummary",
        ),  # consent: the patient's rules
        (
            lambda: summary(S.GetPatientSummaryRequest(patient_id=UNKNOWN), metadata=baerum),
            "CONSENT_DENIED",
            "demo-ehr-baerum",
            "GetPatientSummary",
        ),  # an unknown number, answered as a refusal
        (
            lambda: record(record_vitals.request(UNKNOWN), metadata=ehr),
            "CONSENT_DENIED",
            "demo-ehr",
            "RecordVitalSigns",
        ),  # consent permitted the write; the summary knows no such patient
    ]
    for call, reason, client_id, method in refusals:
        caplog.clear()
        with pytest.raises(grpc.aio.AioRpcError):
            await call()
        logged = security_records(caplog)
        assert [(r.reason, r.code, r.client_id, r.method) for r in logged] == [
            (
                reason,
                "UNAUTHENTICATED" if reason.startswith(("TOKEN", "DPOP")) else "PERMISSION_DENIED",
                client_id,
                (CONSENT if method in ("ListRules", "CheckAccess") else SUMMARY) + method,
            )
        ]
        text = json.dumps([vars(r) for r in logged], default=str)
        assert not [number for number in PERSON_NUMBERS if number in text], text
        assert "eyJ" not in text  # no token
