"""From path, query and JSON body to proto requests: conversion and field violations."""

from __future__ import annotations

import pytest

from gateway.http.app import is_json
from gateway.http.decoding import json_object, request_message
from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform.errors import ServiceError
from tests.fixtures import people

PATIENT = {"patient_id": people.ESKIL}


def violations(message_type, *, path=PATIENT, query=(), body=None) -> dict[str, str]:
    with pytest.raises(ServiceError) as err:
        request_message(message_type, path=path, query=query, body=body)
    assert (err.value.code.name, err.value.reason) == ("INVALID_ARGUMENT", "INVALID_ARGUMENT")
    return err.value.field_violations


def test_a_body_in_json_or_proto_names_becomes_the_request_with_the_path_fields():
    body = {
        "ruleType": "RULE_TYPE_PERMIT",
        "actor": {"org_number": "910000020"},
        "data_categories": ["DATA_CATEGORY_VITAL_SIGNS"],
        "validUntil": "2027-01-01T00:00:00Z",
        "reason": "ok",
    }
    request = request_message(consent_pb2.CreateRuleRequest, path=PATIENT, query=(), body=body)
    assert request.patient_id == people.ESKIL
    assert request.rule_type == consent_pb2.RULE_TYPE_PERMIT
    assert request.actor.WhichOneof("selector") == "org_number"
    assert list(request.data_categories) == [common_pb2.DATA_CATEGORY_VITAL_SIGNS]
    assert request.valid_until.seconds == 1798761600


def test_query_parameters_fill_the_fields_not_in_the_path():
    listed = request_message(consent_pb2.ListRulesRequest, path=PATIENT, query=[("include_revoked", "true")], body=None)
    assert listed.include_revoked is True
    page = request_message(
        audit_pb2.ListEventsRequest, path=PATIENT, query=[("pageSize", "20"), ("page_token", "abc")], body=None
    )
    assert (page.page_size, page.page_token) == (20, "abc")
    revoke = request_message(consent_pb2.RevokeRuleRequest, path={**PATIENT, "rule_id": "r-1"}, query=(), body={})
    assert (revoke.rule_id, revoke.reason) == ("r-1", "")


def test_each_bad_field_gets_its_own_violation():
    found = violations(
        consent_pb2.CreateRuleRequest,
        body={
            "ruleType": "RESERVATION",
            "dataCategories": "DATA_CATEGORY_CONSENT",
            "validFrom": "yesterday",
            "reason": 5,
            "colour": "blue",
            "actor": {"hprNumber": 990000104, "nickname": "x"},
        },
    )
    assert set(found) == {
        "rule_type",
        "data_categories",
        "valid_from",
        "reason",
        "colour",
        "actor.hpr_number",
        "actor.nickname",
    }
    assert found["colour"] == found["actor.nickname"] == "unknown field"
    assert "RULE_TYPE_RESERVATION" in found["rule_type"] and "RULE_TYPE_UNSPECIFIED" not in found["rule_type"]
    assert found["data_categories"].startswith("must be a list")
    assert "RFC 3339" in found["valid_from"]


def test_combinations_are_refused_where_they_occur():
    two_selectors = violations(consent_pb2.CreateRuleRequest, body={"actor": {"hprNumber": "1", "anyone": True}})
    assert two_selectors == {"actor": "at most one of hpr_number, org_number, authorization, anyone may be set"}
    twice = violations(consent_pb2.CreateRuleRequest, body={"ruleType": "RULE_TYPE_BLOCK_PERSON", "rule_type": 1})
    assert twice == {"rule_type": "given twice, by its proto name and its JSON name"}


def test_the_path_decides_the_patient_and_the_query_takes_only_request_fields():
    assert violations(consent_pb2.CreateRuleRequest, body={"patientId": people.GUNNAR}) == {
        "patient_id": "given by the path; leave it out of the body"
    }
    assert violations(consent_pb2.ListRulesRequest, query=[("patient_id", people.GUNNAR)]) == {
        "patient_id": "unknown query parameter"
    }
    assert violations(consent_pb2.ListRulesRequest, query=[("include_revoked", "yes")]) == {
        "include_revoked": "must be true or false"
    }
    assert violations(audit_pb2.ListEventsRequest, query=[("page_size", "1"), ("page_size", "2")]) == {
        "page_size": "given more than once"
    }
    assert violations(audit_pb2.ListEventsRequest, query=[("page_size", "many")]) == {
        "page_size": "must be a 32-bit integer"
    }
    # A route with a body takes nothing from the query.
    assert violations(consent_pb2.CreateRuleRequest, query=[("reason", "x")], body={}) == {
        "reason": "unknown query parameter"
    }


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'"text"', b'{"a": 1, "a": 2}', b'{"n": NaN}', b'{"reason": "\xff"}', b"", b"[" * 100_000],
)
def test_only_a_plain_utf8_json_object_is_a_body(raw):
    with pytest.raises(ServiceError) as err:
        json_object(raw)
    assert list(err.value.field_violations) == ["body"]


def test_json_object_reads_unicode():
    assert json_object('{"reason": "Ønsker ikke deling"}'.encode()) == {"reason": "Ønsker ikke deling"}


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ('application/json; charset="utf-8"', True),
        ("application/json; charset=iso-8859-1", False),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
    ],
)
def test_bodies_must_be_declared_as_json_in_utf8(content_type, accepted):
    assert is_json(content_type) is accepted
