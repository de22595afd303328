"""The trust-framework attestation (nhn:tillitsrammeverk:parameters) as clients send it."""

import json
from typing import Any

import pytest

from services.platform.helseid import PURPOSE_OF_USE_SYSTEM
from services.sts.trust_framework import (
    ATTESTATION_LIFETIME_SECONDS,
    Attestation,
    TrustFrameworkError,
    default_parameters,
    parse_authorization_details,
    practitioner,
)
from tests.fixtures import people

TYPE = "nhn:tillitsrammeverk:parameters"
TREAT = {"purpose_of_use": {"code": "TREAT"}}


def entry(**parameters: Any) -> dict[str, Any]:
    return {"type": TYPE, **parameters}


def test_a_full_attestation_is_normalised() -> None:
    parsed = parse_authorization_details(
        [
            entry(
                care_relationship={
                    "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
                    "purpose_of_use": {"code": "BTG"},
                    "purpose_of_use_details": {"code": "livsfare", "system": "urn:example"},
                    "decision_ref": {"id": "d-1", "user_selected": False},
                },
                patients=[{"identifier": people.ESKIL, "point_of_care": "910000039", "department": "Akutt"}],
            )
        ]
    )

    assert parsed == {
        "care_relationship": {
            "purpose_of_use": {"code": "BTG", "system": PURPOSE_OF_USE_SYSTEM},
            "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
            "purpose_of_use_details": {"code": "livsfare", "system": "urn:example"},
            "decision_ref": {"id": "d-1", "user_selected": False},
        },
        "patients": [{"identifier": people.ESKIL, "point_of_care": "910000039", "department": "Akutt"}],
    }


@pytest.mark.parametrize("purpose", ["TREAT", "ETREAT", "COC", "BTG"])
def test_the_four_purposes_are_accepted(purpose: str) -> None:
    parsed = parse_authorization_details([entry(care_relationship={"purpose_of_use": {"code": purpose}})])

    assert parsed == default_parameters(purpose)


@pytest.mark.parametrize(
    "shape",
    [
        entry(care_relationship=TREAT),
        json.dumps([entry(care_relationship=TREAT)]),
        json.dumps(entry(care_relationship=TREAT)),
    ],
)
def test_an_object_or_json_text_is_accepted_too(shape: Any) -> None:
    assert parse_authorization_details(shape) == default_parameters("TREAT")


def test_no_details_means_no_attestation() -> None:
    assert parse_authorization_details(None) is None
    assert parse_authorization_details([]) is None


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ([entry(care_relationship={"purpose_of_use": {"code": "RESEARCH"}})], "purpose_of_use.code"),
        ([entry(care_relationship={"purpose_of_use": {"code": "TREAT", "system": "urn:x"}})], "purpose_of_use.system"),
        ([entry(care_relationship={"purpose_of_use": "TREAT"})], "must be an object"),
        ([entry(care_relationship={})], "purpose_of_use is required"),
        ([entry(patients=[{"identifier": people.ESKIL}])], "care_relationship is required"),
        ([entry(practitioner={"hpr_nr": "1"}, care_relationship=TREAT)], "practitioner"),
        ([entry(practitioner_role={}, care_relationship=TREAT)], "practitioner"),
        ([entry(care_relationship=TREAT, extra=1)], "unknown members: extra"),
        ([entry(care_relationship={**TREAT, "decision_ref": {"id": "x", "user_selected": "yes"}})], "user_selected"),
        ([entry(care_relationship={**TREAT, "decision_ref": {"id": "", "user_selected": True}})], "decision_ref.id"),
        ([entry(care_relationship=TREAT, patients=[])], "patients must be"),
        ([entry(care_relationship=TREAT, patients=[{"identifier": "12345678901"}])], "patients[0]"),
        (
            [entry(care_relationship=TREAT, patients=[{"identifier": people.ESKIL, "point_of_care": "910000021"}])],
            "patients[0]",
        ),
        ([entry(care_relationship=TREAT, patients=[{"identifier": people.ESKIL}] * 11)], "1 to 10"),
        ([entry(care_relationship=TREAT), entry(care_relationship=TREAT)], "more than once"),
        ([{"type": "payment_initiation"}], "type must be"),
        ("[not json", "not valid JSON"),
        (42, "object or an array"),
    ],
)
def test_invalid_attestations_are_refused(details: Any, message: str) -> None:
    with pytest.raises(TrustFrameworkError) as refused:
        parse_authorization_details(details)

    assert message in str(refused.value)


def test_an_attestation_lives_sixty_minutes() -> None:
    attestation = Attestation(default_parameters("TREAT"), attested_at=1000)

    assert attestation.valid_through(1000 + ATTESTATION_LIFETIME_SECONDS)
    assert not attestation.valid_through(1000 + ATTESTATION_LIFETIME_SECONDS + 1)
    assert ATTESTATION_LIFETIME_SECONDS == 3600


def test_the_practitioner_part_carries_the_hpr_authorization_code() -> None:
    part = practitioner(
        pid=people.LARS, hpr_number=people.LARS_HPR, authorization="LE", legal_entity="910000012", point_of_care=None
    )

    assert part == {
        "identifier": people.LARS,
        "hpr_nr": people.LARS_HPR,
        "authorization": {"code": "LE", "system": "urn:oid:2.16.578.1.12.4.1.1.9060"},
        "legal_entity": "910000012",
    }
