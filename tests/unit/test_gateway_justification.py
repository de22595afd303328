"""Emergency access needs a justification (gateway/enforcement.py): ETREAT and BTG calls about
a patient are refused without 1–500 characters of text, before consent, audit or forwarding."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from gateway import oauth_scopes
from gateway.calls import IncomingCall
from gateway.enforcement import JUSTIFICATION_MAX_CHARS, Enforcer, require_justification
from gateway.policy import POLICIES
from gateway.principal import Principal
from samhandling.capacity.v1 import capacity_pb2
from samhandling.summary.v1 import summary_pb2
from services.platform.errors import ServiceError
from services.platform.vocabulary import ActorKind, PurposeOfUse
from tests.fixtures import people

SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
CAPACITY = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"


def hospital(purpose: PurposeOfUse | None, justification: str = "") -> Principal:
    return Principal(
        kind=ActorKind.SYSTEM,
        client_id="demo-hospital",
        client_name="Demo hospital",
        scopes=frozenset({oauth_scopes.SUMMARY_READ, oauth_scopes.CAPACITY_READ}),
        orgnr_parent="910000071",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
        purpose=purpose,
        justification=justification,
    )


def reason(principal: Principal, method: str = SUMMARY) -> str | None:
    try:
        require_justification(principal, POLICIES[method])
    except ServiceError as err:
        assert err.code == grpc.StatusCode.PERMISSION_DENIED
        return err.reason
    return None


@pytest.mark.parametrize("purpose", [PurposeOfUse.ETREAT, PurposeOfUse.BTG])
def test_emergency_access_to_a_patient_needs_a_justification(purpose):
    assert reason(hospital(purpose)) == "JUSTIFICATION_REQUIRED"
    assert reason(hospital(purpose, "Bevisstløs pasient i akuttmottak")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x", None),
        ("x" * JUSTIFICATION_MAX_CHARS, None),
        ("x" * (JUSTIFICATION_MAX_CHARS + 1), "JUSTIFICATION_REQUIRED"),
        ("line one\nline two", "JUSTIFICATION_REQUIRED"),
        ("nul\x00byte", "JUSTIFICATION_REQUIRED"),
    ],
)
def test_a_justification_is_one_to_five_hundred_plain_characters(text, expected):
    assert reason(hospital(PurposeOfUse.ETREAT, text)) == expected


@pytest.mark.parametrize("purpose", [PurposeOfUse.TREAT, PurposeOfUse.COC, None])
def test_ordinary_purposes_need_none(purpose):
    assert reason(hospital(purpose)) is None


def test_calls_without_patient_data_need_none():
    assert reason(hospital(PurposeOfUse.ETREAT), CAPACITY) is None


class StubAuthenticator:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    async def authenticate(self, call):
        return self.principal


class RecordingBackends:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def call(self, component, assertion, request, response_type):
        self.calls.append(assertion.method)
        return response_type()


def incoming(method: str) -> IncomingCall:
    return IncomingCall(method, (("authorization", "Bearer x"),), "ipv4:127.0.0.1:5000")


async def test_a_refused_emergency_call_reaches_no_service_and_is_logged(caplog):
    caplog.set_level(logging.INFO, logger="gateway.security")
    backends = RecordingBackends()
    enforcer = Enforcer(StubAuthenticator(hospital(PurposeOfUse.ETREAT)), backends, allow_synthetic=True)
    with pytest.raises(ServiceError) as err:
        await enforcer.handle(
            incoming(SUMMARY),
            POLICIES[SUMMARY],
            summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL),
            summary_pb2.GetPatientSummaryResponse,
        )
    assert err.value.reason == "JUSTIFICATION_REQUIRED" and backends.calls == []
    (record,) = [r for r in caplog.records if r.name == "gateway.security"]
    assert (record.reason, record.method, record.client_id) == ("JUSTIFICATION_REQUIRED", SUMMARY, "demo-hospital")


async def test_an_emergency_caller_reads_capacity_without_a_justification():
    backends = RecordingBackends()
    enforcer = Enforcer(StubAuthenticator(hospital(PurposeOfUse.ETREAT)), backends, allow_synthetic=True)
    await enforcer.handle(
        incoming(CAPACITY),
        POLICIES[CAPACITY],
        capacity_pb2.GetCapacityOverviewRequest(),
        capacity_pb2.GetCapacityOverviewResponse,
    )
    assert backends.calls == [CAPACITY]
