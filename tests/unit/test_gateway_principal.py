"""The typed Principal (gateway/principal.py): kinds, the rules each kind must meet, and the
trust-framework attestation. Claims are plain dicts: the signature is tokens.py's concern."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from gateway import oauth_scopes
from gateway.principal import Principal, principal_from_claims
from samhandling.common.v1 import common_pb2
from services.platform.errors import ServiceError
from services.platform.helseid import (
    CLIENT_NAME,
    HPR_NUMBER,
    ORGNR_CHILD,
    ORGNR_PARENT,
    PID,
    PURPOSE_OF_USE_SYSTEM,
    SECURITY_LEVEL,
    TRUST_FRAMEWORK,
)
from services.platform.vocabulary import ActorKind, PurposeOfUse
from tests.fixtures import people

NURSE_PID, NURSE_HPR = people.SIGRID, people.SIGRID_HPR  # Sigrid Sykepleiersen (seeds/personnel.json)
PATIENT_PID = people.ESKIL
EXP = 1_800_000_600  # verified by tokens.py; the principal only carries it


def attestation(purpose="TREAT", **practitioner) -> dict:
    care = {"purpose_of_use": {"code": purpose, "system": PURPOSE_OF_USE_SYSTEM}} if purpose else {}
    return {"practitioner": practitioner, "care_relationship": care}


def system_claims(**changes) -> dict:
    base = {
        "client_id": "demo-ehr",
        "scope": f"{oauth_scopes.SUMMARY_READ} {oauth_scopes.CAPACITY_READ}",
        "exp": EXP,
        CLIENT_NAME: "Demo EHR",
        ORGNR_PARENT: "910000012",
        ORGNR_CHILD: "910000020",
        TRUST_FRAMEWORK: attestation(),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def personnel_claims(**changes) -> dict:
    return system_claims(
        **{
            PID: NURSE_PID,
            HPR_NUMBER: NURSE_HPR,
            SECURITY_LEVEL: "4",
            TRUST_FRAMEWORK: attestation(authorization={"code": "SP", "system": "urn:oid:2.16.578.1.12.4.1.1.9060"}),
            **changes,
        }
    )


def patient_claims(**changes) -> dict:
    return {
        "client_id": "helsenorge",
        "scope": oauth_scopes.PATIENT,
        PID: PATIENT_PID,
        SECURITY_LEVEL: "4",
        "exp": EXP,
        **changes,
    }


def principal(claims: dict, allow_synthetic: bool = True):
    return principal_from_claims(claims, allow_synthetic=allow_synthetic)


def refused(claims: dict, allow_synthetic: bool = True) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(ServiceError) as err:
        principal(claims, allow_synthetic)
    return err.value.code, err.value.reason


UNAUTHENTICATED, DENIED = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED


def test_a_system_acts_for_its_organisation_with_its_purpose():
    p = principal(system_claims())
    assert (p.kind, p.client_id, p.orgnr_parent, p.orgnr_child) == (
        ActorKind.SYSTEM,
        "demo-ehr",
        "910000012",
        "910000020",
    )
    assert p.purpose is PurposeOfUse.TREAT and p.purpose_of_use() == common_pb2.PURPOSE_OF_USE_TREAT
    assert p.to_actor().kind == common_pb2.ACTOR_KIND_SYSTEM and not p.to_actor().authorization


def test_the_audit_scope_makes_an_auditor_bound_to_its_organisation():
    p = principal(system_claims(scope=oauth_scopes.AUDIT_READ, **{TRUST_FRAMEWORK: None}))
    assert (p.kind, p.orgnr_parent, p.purpose) == (ActorKind.AUDITOR, "910000012", None)
    assert refused(system_claims(scope=oauth_scopes.AUDIT_READ, **{ORGNR_PARENT: None})) == (
        DENIED,
        "ORGANISATION_MISSING",
    )


def test_a_person_auditor_needs_security_level_4_but_no_hpr_number():
    claims = system_claims(scope=oauth_scopes.AUDIT_READ, **{PID: NURSE_PID, SECURITY_LEVEL: "4"})
    assert principal(claims).kind is ActorKind.AUDITOR
    assert refused({**claims, SECURITY_LEVEL: "3"}) == (UNAUTHENTICATED, "SECURITY_LEVEL_INSUFFICIENT")


def test_a_system_needs_an_organisation():
    assert refused(system_claims(**{ORGNR_PARENT: None})) == (DENIED, "ORGANISATION_MISSING")


def test_personnel_carry_pid_hpr_and_their_authorization_into_the_actor():
    p = principal(personnel_claims())
    assert (p.kind, p.pid, p.hpr_number, p.authorization) == (ActorKind.PERSONNEL, NURSE_PID, NURSE_HPR, "SP")
    actor = p.to_actor()
    assert (actor.kind, actor.pid, actor.hpr_number, actor.authorization) == (
        common_pb2.ACTOR_KIND_PERSONNEL,
        NURSE_PID,
        NURSE_HPR,
        "SP",
    )


def test_an_authorization_may_be_a_plain_code():
    assert principal(personnel_claims(**{TRUST_FRAMEWORK: attestation(authorization="LE")})).authorization == "LE"


@pytest.mark.parametrize("level", [None, "3", "2", 4, ""])
def test_personnel_need_security_level_4(level):
    expected = "TOKEN_CLAIM_INVALID" if level == 4 else "SECURITY_LEVEL_INSUFFICIENT"
    assert refused(personnel_claims(**{SECURITY_LEVEL: level})) == (UNAUTHENTICATED, expected)


def test_personnel_need_an_hpr_number():
    assert refused(personnel_claims(**{HPR_NUMBER: None})) == (DENIED, "PERSONNEL_HPR_MISSING")


def test_an_hpr_number_without_a_pid_is_not_an_identified_person():
    assert refused(personnel_claims(**{PID: None})) == (UNAUTHENTICATED, "PID_MISSING")


def test_personnel_need_an_organisation():
    assert refused(personnel_claims(**{ORGNR_PARENT: None})) == (DENIED, "ORGANISATION_MISSING")


def test_a_patient_needs_a_pid_and_security_level_4():
    p = principal(patient_claims())
    assert (p.kind, p.pid, p.orgnr_parent) == (ActorKind.PATIENT, PATIENT_PID, "")
    assert refused(patient_claims(**{PID: None})) == (UNAUTHENTICATED, "PID_MISSING")
    assert refused(patient_claims(**{SECURITY_LEVEL: "3"})) == (UNAUTHENTICATED, "SECURITY_LEVEL_INSUFFICIENT")


@pytest.mark.parametrize(
    "changes",
    [
        {PID: "22750884908"},  # wrong check digits
        {PID: 22750884907},
        {HPR_NUMBER: "99x"},
        {HPR_NUMBER: "1234567890"},
        {ORGNR_PARENT: "910000013"},
        {ORGNR_CHILD: "91000002"},
        {CLIENT_NAME: ["Demo"]},
        # Names and ids reach the audit log and the backends' tables: the one text rule holds.
        {CLIENT_NAME: "Demo\x00EHR"},
        {CLIENT_NAME: "Demo \u202eRHE"},
        {CLIENT_NAME: "x" * 201},
        {"client_id": "demo-ehr\x1b[0m"},
        {"client_id": "x" * 101},
        {TRUST_FRAMEWORK: "TREAT"},
        {TRUST_FRAMEWORK: {"practitioner": "Sigrid"}},
        {TRUST_FRAMEWORK: attestation(authorization="le; drop")},
        {TRUST_FRAMEWORK: attestation(authorization={"code": 7})},
        {"exp": "1800000600"},
        {"exp": None},
        {"exp": 10**20},  # beyond any date: refused, not a stream that never closes
    ],
)
def test_a_present_claim_of_the_wrong_shape_is_refused(changes):
    assert refused(personnel_claims(**changes)) == (UNAUTHENTICATED, "TOKEN_CLAIM_INVALID")


def test_the_principal_carries_the_tokens_expiry():
    assert principal(system_claims()).expires_at == datetime.fromtimestamp(EXP, UTC)
    assert principal(patient_claims(exp=float(EXP))).expires_at == datetime.fromtimestamp(EXP, UTC)
    # A NumericDate is a whole number of seconds (services.platform.numeric_date).
    assert refused(patient_claims(exp=EXP + 0.5)) == (UNAUTHENTICATED, "TOKEN_CLAIM_INVALID")


def test_synthetic_persons_are_refused_where_they_are_not_allowed():
    assert refused(personnel_claims(), allow_synthetic=False) == (UNAUTHENTICATED, "TOKEN_CLAIM_INVALID")
    assert refused(patient_claims(), allow_synthetic=False) == (UNAUTHENTICATED, "TOKEN_CLAIM_INVALID")


@pytest.mark.parametrize("code", ["TREAT", "ETREAT", "COC", "BTG"])
def test_the_purpose_is_read_from_the_care_relationship(code):
    assert principal(system_claims(**{TRUST_FRAMEWORK: attestation(code)})).purpose is PurposeOfUse[code]


def test_a_purpose_we_do_not_serve_is_refused():
    assert refused(system_claims(**{TRUST_FRAMEWORK: attestation("PUBHLTH")})) == (DENIED, "PURPOSE_OF_USE_UNSUPPORTED")
    other_system = {"care_relationship": {"purpose_of_use": {"code": "TREAT", "system": "urn:oid:1.2.3"}}}
    assert refused(system_claims(**{TRUST_FRAMEWORK: other_system})) == (DENIED, "PURPOSE_OF_USE_UNSUPPORTED")


def test_no_attestation_means_no_purpose():
    assert principal(system_claims(**{TRUST_FRAMEWORK: None})).purpose is None
    assert principal(system_claims(**{TRUST_FRAMEWORK: attestation(None)})).purpose is None


def test_the_attestation_must_be_about_the_person_the_token_identifies():
    same = attestation(identifier={"id": NURSE_PID}, hpr_nr={"id": NURSE_HPR}, authorization="SP")
    assert principal(personnel_claims(**{TRUST_FRAMEWORK: same})).authorization == "SP"
    other_hpr = attestation(hpr_nr={"id": people.LARS_HPR})
    assert refused(personnel_claims(**{TRUST_FRAMEWORK: other_hpr})) == (DENIED, "PRACTITIONER_MISMATCH")
    other_pid = attestation(identifier=people.LARS)
    assert refused(personnel_claims(**{TRUST_FRAMEWORK: other_pid})) == (DENIED, "PRACTITIONER_MISMATCH")


def test_a_system_never_takes_an_attested_authorization_as_its_own():
    assert principal(system_claims(**{TRUST_FRAMEWORK: attestation(authorization="LE")})).authorization == ""


@pytest.mark.parametrize("kind", list(ActorKind))
def test_every_kind_is_the_actor_kind_of_its_name(kind):
    p = Principal(kind=kind, client_id="c", client_name="", scopes=frozenset(), expires_at=datetime.now(UTC))
    assert common_pb2.ActorKind.Name(p.to_actor().kind) == f"ACTOR_KIND_{kind.name}"


@pytest.mark.parametrize("purpose", [*PurposeOfUse, None])
def test_every_purpose_is_the_purpose_of_use_of_its_name(purpose):
    p = Principal(
        kind=ActorKind.SYSTEM,
        client_id="c",
        client_name="",
        scopes=frozenset(),
        expires_at=datetime.now(UTC),
        purpose=purpose,
    )
    name = "UNSPECIFIED" if purpose is None else purpose.name
    assert common_pb2.PurposeOfUse.Name(p.purpose_of_use()) == f"PURPOSE_OF_USE_{name}"
