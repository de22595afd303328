"""The google.rpc error model over HTTP: one table of statuses, one body, the challenges."""

from __future__ import annotations

import json

import grpc
import pytest

from gateway.http.errors import (
    HTTP_STATUS,
    body_too_large,
    challenges,
    error_response,
    http_status,
    method_not_allowed,
    unsupported_media_type,
)
from services.platform.errors import (
    ServiceError,
    invalid_argument,
    not_found,
    permission_denied,
    unauthenticated,
    unavailable,
)


def test_every_status_code_has_an_http_status():
    assert set(HTTP_STATUS) == set(grpc.StatusCode)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (invalid_argument({"patient_id": "not a valid person number"}), 400),
        (unauthenticated("TOKEN_MISSING", "no token"), 401),
        (permission_denied("CONSENT_DENIED", "no"), 403),
        (not_found("RULE_NOT_FOUND", "no such rule"), 404),
        (unavailable("AUDIT_UNAVAILABLE", "later"), 503),
        (ServiceError(grpc.StatusCode.INTERNAL, "GATEWAY_ASSERTION_REFUSED", "internal error"), 500),
        (method_not_allowed(), 405),
        (body_too_large(10), 413),
        (unsupported_media_type(), 415),
    ],
)
def test_codes_map_to_their_http_status(error, status):
    assert http_status(error) == status
    assert error_response(error).status_code == status


def test_the_body_carries_code_reason_message_and_violations():
    response = error_response(invalid_argument({"patient_id": "not a valid person number", "rule_id": "required"}))
    assert json.loads(response.body) == {
        "error": {
            "code": "INVALID_ARGUMENT",
            "reason": "INVALID_ARGUMENT",
            "message": "invalid patient_id: not a valid person number",
            "fieldViolations": [
                {"field": "patient_id", "description": "not a valid person number"},
                {"field": "rule_id", "description": "required"},
            ],
        }
    }
    assert response.headers["content-type"] == "application/json"


def test_a_401_offers_both_schemes_and_says_what_was_wrong():
    response = error_response(unauthenticated("TOKEN_EXPIRED", "expired"), {"cache-control": "no-store"})
    assert response.headers.getlist("www-authenticate") == challenges("TOKEN_EXPIRED")
    assert response.headers["cache-control"] == "no-store"

    missing = challenges("TOKEN_MISSING")
    assert missing[0] == 'Bearer realm="samhandling"'
    assert missing[1].startswith('DPoP realm="samhandling", algs="') and "ES256" in missing[1]
    assert "error=" not in missing[1]
    assert all(c.endswith('error="invalid_token"') for c in challenges("TOKEN_EXPIRED"))
    proof = challenges("DPOP_HTU_MISMATCH")
    assert proof[0].endswith('error="invalid_token"') and proof[1].endswith('error="invalid_dpop_proof"')
    assert challenges("DPOP_BOUND_TOKEN_AS_BEARER")[1].endswith('error="invalid_token"')


def test_other_errors_carry_no_challenge():
    assert "www-authenticate" not in error_response(permission_denied("SCOPE_MISSING", "no")).headers
