"""The development STS, started for real on port 0, asked for tokens over HTTP."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import JWKRegistry, KeySet, OctKey

from services.sts.config import StsConfig
from services.sts.main import StsServer
from services.sts.token_client import (
    StsTokenError,
    build_client_assertion,
    fetch_client_credentials_token,
)
from tests.fixtures import people
from tests.fixtures.sts import (
    SEEDS,
    assert_refused,
    assertion_form,
    post_token_request,
    private_jwk,
    start,
    verified_claims,
)

S = "nhn:samhandling/"

# One STS for the module (its start/stop costs more than all the requests together).
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_discovery_names_the_endpoints_under_the_bound_issuer(sts: StsServer) -> None:
    assert sts.issuer == f"http://127.0.0.1:{sts.port}"
    async with httpx.AsyncClient() as http:
        document = (await http.get(sts.issuer + "/.well-known/openid-configuration")).json()
    assert document["issuer"] == sts.issuer
    assert document["token_endpoint"] == sts.issuer + "/connect/token"
    assert document["jwks_uri"] == sts.issuer + "/.well-known/jwks.json"
    assert document["authorization_endpoint"] == sts.issuer + "/connect/authorize"
    assert document["grant_types_supported"] == ["client_credentials", "authorization_code", "refresh_token"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert document["authorization_details_types_supported"] == ["nhn:tillitsrammeverk:parameters"]
    assert S + "audit.read" in document["scopes_supported"]


async def test_jwks_publishes_both_signing_keys_without_private_parts(sts: StsServer) -> None:
    async with httpx.AsyncClient() as http:
        keys = (await http.get(sts.issuer + "/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == ["sts-signing-1", "sts-signing-2", "sts-id-token-1"]
    for key in keys[:2]:
        assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
    assert keys[2]["kty"] == "RSA" and keys[2]["alg"] == "RS256"  # ID tokens (OpenID Connect)
    for key in keys:
        assert "d" not in key and "p" not in key and "dev_only" not in key


async def test_token_carries_the_helseid_client_claims(sts: StsServer) -> None:
    token = await fetch_client_credentials_token(sts.issuer, "demo-ehr", private_jwk("demo-ehr"))

    header, claims = await verified_claims(sts.issuer, token)

    assert header["kid"] == "sts-signing-1" and header["alg"] == "ES256"
    assert claims["sub"] == claims["client_id"] == "demo-ehr"
    assert claims["scope"] == f"{S}summary.read {S}summary.write {S}capacity.read {S}escalation.inbox"
    assert claims["nbf"] == claims["iat"] and claims["exp"] == claims["iat"] + 600
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["helseid://claims/client/claims/orgnr_parent"] == "910000012"
    assert claims["helseid://claims/client/claims/orgnr_child"] == "910000020"
    assert claims["helseid://claims/client/client_name"] == "Demo EHR – Bodø kommune"
    assert claims["helseid://claims/client/amr"] == "private_key_jwt"
    assert claims["nhn:tillitsrammeverk:parameters"] == {
        "care_relationship": {"purpose_of_use": {"code": "TREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"}}
    }


async def test_requested_scope_is_granted_exactly(sts: StsServer) -> None:
    token = await fetch_client_credentials_token(
        sts.issuer, "demo-hospital", private_jwk("demo-hospital"), scope=f"{S}alerts {S}capacity.report"
    )

    _, claims = await verified_claims(sts.issuer, token)

    assert claims["scope"] == f"{S}alerts {S}capacity.report"
    assert claims["helseid://claims/client/claims/orgnr_child"] == "910000098"
    purpose = claims["nhn:tillitsrammeverk:parameters"]["care_relationship"]["purpose_of_use"]
    assert purpose["code"] == "ETREAT"


async def test_client_without_default_purpose_gets_no_trust_framework_claim(sts: StsServer) -> None:
    token = await fetch_client_credentials_token(sts.issuer, "demo-auditor", private_jwk("demo-auditor"))

    _, claims = await verified_claims(sts.issuer, token)

    assert claims["scope"] == f"{S}audit.read"
    assert "nhn:tillitsrammeverk:parameters" not in claims


async def test_assertion_may_name_the_token_endpoint_as_audience(sts: StsServer) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer + "/connect/token")

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer" and response.json()["expires_in"] == 600
    assert response.headers["cache-control"] == "no-store"


async def test_replayed_assertion_is_refused(sts: StsServer) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer)

    first = await post_token_request(sts.issuer, assertion_form(assertion))
    second = await post_token_request(sts.issuer, assertion_form(assertion))

    assert first.status_code == 200, first.text
    assert_refused(second, "invalid_client")
    assert "used before" in second.json()["error_description"]


@pytest.mark.parametrize(
    ("issued_ago", "lifetime", "reason"),
    [
        pytest.param(80, 60, "expired", id="expired-20s-ago"),
        pytest.param(0, 120, "more than 60 s ahead", id="exp-more-than-60s-ahead"),
        pytest.param(30, 85, "more than 60 s ahead", id="lifetime-over-60s-though-exp-is-near"),
        pytest.param(-20, 30, "future", id="issued-in-the-future"),
    ],
)
async def test_assertion_outside_its_time_window_is_refused(
    sts: StsServer, issued_ago: int, lifetime: int, reason: str
) -> None:
    assertion = build_client_assertion(
        "demo-ehr",
        private_jwk("demo-ehr"),
        sts.issuer,
        now=int(time.time()) - issued_ago,
        lifetime_seconds=lifetime,
    )

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert_refused(response, "invalid_client")
    assert reason in response.json()["error_description"]


@pytest.mark.parametrize(
    ("times", "reason"),
    [
        pytest.param({"iat": float("nan")}, "'iat' must be a whole number", id="iat-NaN"),
        pytest.param({"exp": float("inf")}, "'exp' must be a whole number", id="exp-Infinity"),
        pytest.param({"iat": "now"}, "'iat' must be a number", id="iat-string"),
        pytest.param({"iat": 1.5}, "'iat' must be a whole number", id="iat-fraction"),
        pytest.param({"iat": True}, "'iat' must be a number", id="iat-true"),
        pytest.param({"exp": 10**30}, "'exp' is out of range", id="exp-huge"),
    ],
)
async def test_assertion_time_claims_must_be_numeric_dates(sts: StsServer, times: dict[str, Any], reason: str) -> None:
    now = int(time.time())
    claims = {
        "iss": "demo-ehr",
        "sub": "demo-ehr",
        "aud": sts.issuer,
        "jti": secrets.token_urlsafe(24),
        "iat": now,
        "nbf": now,
        "exp": now + 30,
        **times,
    }
    key = JWKRegistry.import_key(private_jwk("demo-ehr"))
    assertion = jwt.encode({"alg": "ES256" if key.key_type == "EC" else "PS256", "kid": key.kid}, claims, key)

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert_refused(response, "invalid_client")
    assert reason in response.json()["error_description"]


async def test_assertion_for_another_audience_is_refused(sts: StsServer) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), "https://helseid-sts.nhn.no")

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert_refused(response, "invalid_client")
    assert "'aud'" in response.json()["error_description"]


async def test_unknown_client_is_refused(sts: StsServer) -> None:
    assertion = build_client_assertion("ghost-client", private_jwk("demo-ehr"), sts.issuer)

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert_refused(response, "invalid_client")
    assert "does not exist" in response.json()["error_description"]


async def test_assertion_signed_with_another_clients_key_is_refused(sts: StsServer) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-hospital"), sts.issuer)

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert_refused(response, "invalid_client")
    assert "bad_signature" in response.json()["error_description"]


async def test_client_id_parameter_must_name_the_asserted_client(sts: StsServer) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer)

    response = await post_token_request(sts.issuer, assertion_form(assertion, client_id="demo-hospital"))

    assert_refused(response, "invalid_client")


async def test_symmetric_algorithm_is_refused(sts: StsServer) -> None:
    now = int(time.time())
    claims = {"iss": "demo-ehr", "sub": "demo-ehr", "aud": sts.issuer, "jti": "hs", "iat": now, "exp": now + 30}
    assertion = jwt.encode({"alg": "HS256"}, claims, OctKey.generate_key(256))

    assert_refused(await post_token_request(sts.issuer, assertion_form(assertion)), "invalid_client")


async def test_assertion_whose_issuer_differs_from_subject_is_refused(sts: StsServer) -> None:
    now = int(time.time())
    claims = {"iss": "demo-hospital", "sub": "demo-ehr", "aud": sts.issuer, "jti": "mixed", "iat": now, "exp": now + 30}
    key = KeySet.import_key_set({"keys": [{k: v for k, v in private_jwk("demo-ehr").items() if k != "dev_only"}]})
    assertion = jwt.encode({"alg": "ES256"}, claims, key.keys[0])

    assert_refused(await post_token_request(sts.issuer, assertion_form(assertion)), "invalid_client")


async def test_request_without_client_assertion_is_refused(sts: StsServer) -> None:
    response = await post_token_request(sts.issuer, {"grant_type": "client_credentials", "client_id": "demo-ehr"})

    assert_refused(response, "invalid_client")


async def test_scope_outside_the_clients_scopes_is_refused(sts: StsServer) -> None:
    with pytest.raises(StsTokenError) as refused:
        await fetch_client_credentials_token(
            sts.issuer, "demo-auditor", private_jwk("demo-auditor"), scope=f"{S}audit.read {S}summary.read"
        )

    assert refused.value.status == 400
    assert refused.value.error == "invalid_scope"
    assert f"{S}summary.read" in (refused.value.description or "")


async def test_other_grant_types_are_unsupported(sts: StsServer) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer)

    response = await post_token_request(sts.issuer, assertion_form(assertion, grant_type="password"))

    assert_refused(response, "unsupported_grant_type")


async def test_logs_hold_neither_tokens_nor_assertions(sts: StsServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer)

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    token = response.json()["access_token"]
    assert "issued access token to client demo-ehr" in caplog.text
    for secret in (token, token.split(".")[2], assertion.split(".")[2], private_jwk("demo-ehr")["d"]):
        assert secret not in caplog.text


def attested(**parameters: Any) -> list[dict[str, Any]]:
    return [{"type": "nhn:tillitsrammeverk:parameters", **parameters}]


async def test_attestation_in_the_client_assertion_lands_in_the_token(sts: StsServer) -> None:
    details = attested(
        care_relationship={
            "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
            "purpose_of_use": {"code": "COC"},
        },
        patients=[{"identifier": people.ESKIL, "point_of_care": "910000020", "department": "Sone sør"}],
    )
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer, authorization_details=details)

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert response.status_code == 200, response.text
    _, claims = await verified_claims(sts.issuer, response.json()["access_token"])
    # It replaces the client's registered default purpose (TREAT).
    assert claims["nhn:tillitsrammeverk:parameters"] == {
        "care_relationship": {
            "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
            "purpose_of_use": {"code": "COC", "system": "urn:oid:2.16.840.1.113883.1.11.20448"},
        },
        "patients": [{"identifier": people.ESKIL, "point_of_care": "910000020", "department": "Sone sør"}],
    }


async def test_purpose_helper_attests_in_the_assertion(sts: StsServer) -> None:
    token = await fetch_client_credentials_token(sts.issuer, "demo-auditor", private_jwk("demo-auditor"), purpose="BTG")

    _, claims = await verified_claims(sts.issuer, token)

    assert claims["nhn:tillitsrammeverk:parameters"]["care_relationship"]["purpose_of_use"]["code"] == "BTG"


@pytest.mark.parametrize(
    ("details", "reason"),
    [
        pytest.param(
            attested(care_relationship={"purpose_of_use": {"code": "SHOPPING"}}),
            "purpose_of_use.code",
            id="unknown-purpose",
        ),
        pytest.param(
            attested(care_relationship={"purpose_of_use": {"code": "TREAT", "system": "urn:other"}}),
            "system",
            id="other-system",
        ),
        pytest.param(
            attested(
                practitioner={"hpr_nr": people.SIGRID_HPR}, care_relationship={"purpose_of_use": {"code": "TREAT"}}
            ),
            "practitioner",
            id="practitioner-from-client",
        ),
        pytest.param(
            attested(care_relationship={"purpose_of_use": {"code": "TREAT"}}, patients=[{"identifier": "22750884900"}]),
            "patients[0]",
            id="bad-person-number",
        ),
        pytest.param(
            attested(
                care_relationship={"purpose_of_use": {"code": "TREAT"}},
                patients=[{"identifier": people.ESKIL, "point_of_care": "910000021"}],
            ),
            "patients[0]",
            id="bad-org-number",
        ),
        pytest.param(attested(patients=[{"identifier": people.ESKIL}]), "care_relationship", id="no-care-relationship"),
        pytest.param([{"type": "payment_initiation"}], "type", id="other-type"),
        pytest.param(
            attested(care_relationship={"purpose_of_use": {"code": "TREAT"}, "ønske": '"x"'}),
            "unknown members",
            id="unknown-member-echoed-safely",
        ),
    ],
)
async def test_invalid_attestations_are_refused(sts: StsServer, details: list[dict[str, Any]], reason: str) -> None:
    assertion = build_client_assertion("demo-ehr", private_jwk("demo-ehr"), sts.issuer, authorization_details=details)

    response = await post_token_request(sts.issuer, assertion_form(assertion))

    assert_refused(response, "invalid_authorization_details")
    assert reason in response.json()["error_description"]


async def test_cancellation_stops_the_server_and_frees_the_port() -> None:
    server = StsServer(StsConfig(port=0, seeds_dir=SEEDS))
    serving = await start(server)
    async with httpx.AsyncClient() as http:
        assert (await http.get(server.issuer + "/.well-known/jwks.json")).status_code == 200

    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving

    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(server.issuer + "/.well-known/jwks.json")
