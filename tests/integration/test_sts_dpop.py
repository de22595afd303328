"""DPoP (RFC 9449) at the token endpoint: binding, the nonce challenge, DPoP-bound clients."""

from __future__ import annotations

import httpx
import pytest
from joserfc.jwk import ECKey

from services.platform.dpop import make_proof
from services.sts.main import StsServer
from services.sts.token_client import (
    CLIENT_ASSERTION_TYPE,
    StsTokenError,
    build_client_assertion,
    fetch_client_credentials_token,
    login_token,
    refresh_access_token,
)
from tests.fixtures.people import LARS
from tests.fixtures.sts import LEGEVAKT_CALLBACK, Login, assert_refused, private_jwk, verified_claims

pytestmark = pytest.mark.asyncio(loop_scope="module")


def client_credentials(sts: StsServer, client_id: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": build_client_assertion(client_id, private_jwk(client_id), sts.issuer),
    }


async def post(http: httpx.AsyncClient, sts: StsServer, form: dict[str, str], *proofs: str) -> httpx.Response:
    headers = [("DPoP", proof) for proof in proofs]
    return await http.post(sts.issuer + "/connect/token", data=form, headers=headers)


async def test_nonce_challenge_round_trip_binds_the_token_to_the_key(sts: StsServer, http: httpx.AsyncClient) -> None:
    key = ECKey.generate_key("P-256")
    token_endpoint = sts.issuer + "/connect/token"

    challenged = await post(http, sts, client_credentials(sts, "demo-ehr"), make_proof(key, "POST", token_endpoint))
    nonce = challenged.headers["dpop-nonce"]
    answered = await post(
        http, sts, client_credentials(sts, "demo-ehr"), make_proof(key, "POST", token_endpoint, nonce=nonce)
    )

    assert_refused(challenged, "use_dpop_nonce")
    assert answered.status_code == 200, answered.text
    assert answered.json()["token_type"] == "DPoP"
    _, claims = await verified_claims(sts.issuer, answered.json()["access_token"])
    assert claims["cnf"] == {"jkt": key.thumbprint()}


async def test_a_nonce_challenge_spends_neither_the_assertion_nor_the_code(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    key = ECKey.generate_key("P-256")
    login = Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK)
    code = await login.code(LARS)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": LEGEVAKT_CALLBACK,
        "code_verifier": login.verifier,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": build_client_assertion("demo-legevakt", private_jwk("demo-legevakt"), sts.issuer),
    }

    challenged = await post(http, sts, form, make_proof(key, "POST", sts.issuer + "/connect/token"))
    nonce = challenged.headers["dpop-nonce"]
    answered = await post(http, sts, form, make_proof(key, "POST", sts.issuer + "/connect/token", nonce=nonce))

    assert_refused(challenged, "use_dpop_nonce")
    assert answered.status_code == 200 and answered.json()["token_type"] == "DPoP", answered.text


async def test_client_helper_answers_the_nonce_challenge(sts: StsServer) -> None:
    key = ECKey.generate_key("P-256")

    token = await fetch_client_credentials_token(
        sts.issuer, "demo-hospital", private_jwk("demo-hospital"), dpop_key=key
    )

    _, claims = await verified_claims(sts.issuer, token)
    assert claims["cnf"]["jkt"] == key.thumbprint() and claims["client_id"] == "demo-hospital"


async def test_a_dpop_bound_client_without_a_proof_is_refused(sts: StsServer, http: httpx.AsyncClient) -> None:
    response = await post(http, sts, client_credentials(sts, "demo-legevakt"))

    assert_refused(response, "invalid_dpop_proof")
    with pytest.raises(StsTokenError) as refused:
        await fetch_client_credentials_token(sts.issuer, "demo-legevakt", private_jwk("demo-legevakt"))
    assert refused.value.error == "invalid_dpop_proof"


async def test_clients_not_bound_get_bearer_tokens_without_a_proof(sts: StsServer, http: httpx.AsyncClient) -> None:
    response = await post(http, sts, client_credentials(sts, "demo-ehr"))

    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"
    _, claims = await verified_claims(sts.issuer, response.json()["access_token"])
    assert "cnf" not in claims


@pytest.mark.parametrize(
    "proof",
    [
        pytest.param(lambda key, url, nonce: make_proof(key, "POST", url + "/other", nonce=nonce), id="other-htu"),
        pytest.param(lambda key, url, nonce: make_proof(key, "GET", url, nonce=nonce), id="wrong-htm"),
        pytest.param(lambda key, url, nonce: make_proof(key, "POST", url, nonce=nonce, now=1_000_000), id="stale-iat"),
        pytest.param(lambda key, url, nonce: "not.a.proof", id="garbage"),
    ],
)
async def test_unacceptable_proofs_are_invalid_dpop_proof(sts: StsServer, http: httpx.AsyncClient, proof) -> None:
    token_endpoint = sts.issuer + "/connect/token"
    nonce = (await post(http, sts, {})).headers["dpop-nonce"]

    response = await post(
        http, sts, client_credentials(sts, "demo-ehr"), proof(ECKey.generate_key("P-256"), token_endpoint, nonce)
    )

    assert_refused(response, "invalid_dpop_proof")


async def test_a_replayed_proof_and_two_proofs_are_refused(sts: StsServer, http: httpx.AsyncClient) -> None:
    key = ECKey.generate_key("P-256")
    nonce = (await post(http, sts, {})).headers["dpop-nonce"]
    proof = make_proof(key, "POST", sts.issuer + "/connect/token", nonce=nonce)

    first = await post(http, sts, client_credentials(sts, "demo-ehr"), proof)
    replayed = await post(http, sts, client_credentials(sts, "demo-ehr"), proof)
    doubled = await post(
        http,
        sts,
        client_credentials(sts, "demo-ehr"),
        make_proof(key, "POST", sts.issuer + "/connect/token", nonce=nonce),
        make_proof(key, "POST", sts.issuer + "/connect/token", nonce=nonce),
    )

    assert first.status_code == 200
    assert_refused(replayed, "invalid_dpop_proof")
    assert_refused(doubled, "invalid_dpop_proof")


async def test_refresh_of_a_bound_token_needs_the_same_key(sts: StsServer) -> None:
    key, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    client_key = private_jwk("demo-legevakt")
    login = await login_token(
        sts.issuer, "demo-legevakt", client_key, LEGEVAKT_CALLBACK, LARS, kind="personnel", dpop_key=key
    )

    with pytest.raises(StsTokenError) as other_key:
        await refresh_access_token(sts.issuer, "demo-legevakt", client_key, login.refresh_token, dpop_key=other)
    with pytest.raises(StsTokenError) as no_proof:
        await refresh_access_token(sts.issuer, "demo-legevakt", client_key, login.refresh_token)
    # Refused attempts did not spend it: the holder of the key still refreshes.
    refreshed = await refresh_access_token(sts.issuer, "demo-legevakt", client_key, login.refresh_token, dpop_key=key)

    assert other_key.value.error == "invalid_grant" and "DPoP key" in (other_key.value.description or "")
    assert no_proof.value.error == "invalid_dpop_proof"
    assert refreshed.token_type == "DPoP"
    _, claims = await verified_claims(sts.issuer, refreshed.access_token)
    assert claims["cnf"]["jkt"] == key.thumbprint() and claims["helseid://claims/identity/pid"] == LARS


async def test_every_token_endpoint_answer_carries_the_nonce(sts: StsServer, http: httpx.AsyncClient) -> None:
    ok = await post(http, sts, client_credentials(sts, "demo-ehr"))
    refused = await post(http, sts, {"grant_type": "client_credentials"})

    assert ok.headers["dpop-nonce"] and refused.headers["dpop-nonce"]
