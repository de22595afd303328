"""The gateway's one mapping of what a caller without a basis learns about a patient (docs/consent.md
"What a caller without a basis learns about a patient"): a backend's PATIENT_NOT_FOUND is told
only to the patient (and their representatives); anyone else gets the answer a reservation gets."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from gateway.enforcement import answer_without_basis, no_access
from gateway.policy import POLICIES
from gateway.principal import Principal
from services.platform.errors import invalid_argument, not_found, permission_denied
from services.platform.vocabulary import ActorKind

GET_SUMMARY = POLICIES["/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"]
GET_CAPACITY = POLICIES["/samhandling.capacity.v1.CapacityService/GetCapacityOverview"]
UNKNOWN_PATIENT = not_found("PATIENT_NOT_FOUND", "no such patient")


def principal(kind: ActorKind) -> Principal:
    return Principal(kind=kind, client_id="c", client_name="C", scopes=frozenset(), expires_at=datetime.now(UTC))


@pytest.mark.parametrize("kind", [ActorKind.SYSTEM, ActorKind.PERSONNEL, ActorKind.AUDITOR])
def test_an_unknown_patient_is_answered_as_a_refusal_to_anyone_but_the_patient(kind):
    answer = answer_without_basis(UNKNOWN_PATIENT, GET_SUMMARY, principal(kind))
    expected = no_access()
    assert (
        (answer.code, answer.reason, answer.message, answer.field_violations)
        == (expected.code, expected.reason, expected.message, expected.field_violations)
        == (grpc.StatusCode.PERMISSION_DENIED, "CONSENT_DENIED", "access to this patient's data is not permitted", {})
    )


def test_the_patient_learns_that_the_number_is_unknown():
    assert answer_without_basis(UNKNOWN_PATIENT, GET_SUMMARY, principal(ActorKind.PATIENT)) is UNKNOWN_PATIENT


@pytest.mark.parametrize(
    "error",
    [
        invalid_argument({"from_time": "required"}),
        not_found("SERVICE_NOT_FOUND", "no such service"),
        permission_denied("CLINICIAN_REQUIRED", "a clinician"),
    ],
)
def test_other_answers_pass_unchanged(error):
    assert answer_without_basis(error, GET_SUMMARY, principal(ActorKind.SYSTEM)) is error


def test_a_method_about_no_patient_is_left_alone():
    assert answer_without_basis(UNKNOWN_PATIENT, GET_CAPACITY, principal(ActorKind.SYSTEM)) is UNKNOWN_PATIENT
