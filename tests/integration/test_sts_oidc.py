"""The development STS as an OpenID Provider (issue 12, point 19), checked by a relying-party
library nobody here wrote: Authlib's OpenID Connect client (its Starlette integration) does the
discovery, fetches the JWKS, and validates the ID token as OIDC Core §3.1.3.7 asks (signature,
iss, aud, exp, nonce, at_hash), against a running STS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from authlib.integrations.starlette_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from services.platform.dpop import make_proof
from services.sts.login_form import read_login_page
from services.sts.main import StsServer
from services.sts.token_client import build_client_assertion
from tests.fixtures import people
from tests.fixtures.people import ESKIL, LARS
from tests.fixtures.sts import (
    LEGEVAKT_CALLBACK,
    WEB_CALLBACK,
    Login,
    assert_refused,
    assertion_form,
    private_jwk,
    redirect_params,
    verified_claims,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

HELSEID_SCOPES = "openid profile helseid://scopes/identity/pid helseid://scopes/hpr/hpr_number"


class ShortLivedPrivateKeyJwt(PrivateKeyJWT):
    """Authlib's private_key_jwt with a 60 s assertion (its default, 1 hour, is refused, as HelseID would)."""

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return private_key_jwt_sign(
            auth.client_secret, client_id=auth.client_id, token_endpoint=token_endpoint, alg=self.alg, expires_in=60
        )


def relying_party(sts: StsServer, scope: str = "openid profile samhandling:patient") -> Any:
    """The patients' web client as Authlib's OIDC client: everything from discovery."""
    oauth = OAuth()
    return oauth.register(
        "sts",
        client_id="samhandling-web",
        client_secret=ECKey.import_key(private_jwk("samhandling-web")),
        server_metadata_url=sts.issuer + "/.well-known/openid-configuration",
        client_auth_methods=[ShortLivedPrivateKeyJwt(alg="ES256")],
        client_kwargs={
            "scope": scope,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "private_key_jwt",
        },
    )


async def browser_login(http: httpx.AsyncClient, url: str, pid: str, redirect_uri: str) -> dict[str, str]:
    """What the person's browser does: open the login page, choose, follow back to the client."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    form, _ = read_login_page(page.text)
    assert form is not None
    return redirect_params(await http.post(form.action, data={**form.hidden, "person": pid}), redirect_uri)


async def test_discovery_is_openid_provider_and_rfc8414_metadata(sts: StsServer, http: httpx.AsyncClient) -> None:
    openid = (await http.get(sts.issuer + "/.well-known/openid-configuration")).json()
    oauth = (await http.get(sts.issuer + "/.well-known/oauth-authorization-server")).json()

    assert openid == oauth
    assert openid["subject_types_supported"] == ["public"]
    assert openid["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in openid["scopes_supported"]
    # Authlib's validators of both specifications; they require https, which the loopback STS
    # cannot have, so only the scheme is swapped.
    on_https = {k: v.replace("http://", "https://", 1) if isinstance(v, str) else v for k, v in openid.items()}
    OpenIDProviderMetadata(on_https).validate()
    AuthorizationServerMetadata(on_https).validate()


async def test_an_oidc_library_logs_a_patient_in_and_verifies_the_id_token(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    rp = relying_party(sts)

    start_login = await rp.create_authorization_url(WEB_CALLBACK)
    callback = await browser_login(http, start_login["url"], ESKIL, WEB_CALLBACK)
    assert callback["state"] == start_login["state"]
    token = await rp.fetch_access_token(WEB_CALLBACK, code=callback["code"], code_verifier=start_login["code_verifier"])
    # Discovery, JWKS, signature, iss, aud, exp, iat, nonce, at_hash: all Authlib's.
    claims = await rp.parse_id_token(token, nonce=start_login["nonce"], leeway=0)

    _, access = await verified_claims(sts.issuer, token["access_token"])
    assert claims["sub"] == access["sub"] and claims["aud"] == "samhandling-web" and claims["iss"] == sts.issuer
    assert claims["nonce"] == start_login["nonce"]
    # ID-porten's claims for a person logged in at "high".
    assert claims["pid"] == ESKIL and claims["acr"] == "idporten-loa-high" and claims["amr"] == ["TestID"]
    assert claims["locale"] == "nb" and claims["name"] == "Eskil Eksempelsen"
    assert claims["iat"] - 5 <= claims["auth_time"] <= claims["iat"]
    assert "helseid://claims/identity/pid" not in claims
    assert token["scope"] == "openid profile samhandling:patient"

    # The library refuses what it must: another nonce, an ID token paired with another access token.
    with pytest.raises(Exception, match="nonce"):
        await rp.parse_id_token(token, nonce="another")
    with pytest.raises(Exception, match="at_hash"):
        await rp.parse_id_token({**token, "access_token": token["access_token"] + "x"}, nonce=start_login["nonce"])


async def verified_id_token(sts: StsServer, http: httpx.AsyncClient, id_token: str, **params: str) -> CodeIDToken:
    keys = KeySet.import_key_set((await http.get(sts.issuer + "/.well-known/jwks.json")).json())
    decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
    claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [sts.issuer]}}, params)
    claims.validate(leeway=0)
    return claims


async def test_health_personnel_get_helseid_identity_claims_only_for_the_scopes_asked(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    login = Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK)
    scope = HELSEID_SCOPES + " nhn:samhandling/summary.read"
    code = await login.code(LARS, scope=scope, nonce="n-0S6_WzA2Mj")
    tokens = await login.redeem_with_dpop(code, ECKey.generate_key("P-256"))
    access_token, id_token = tokens["access_token"], tokens["id_token"]

    claims = await verified_id_token(
        sts, http, id_token, nonce="n-0S6_WzA2Mj", client_id="demo-legevakt", access_token=access_token
    )

    assert claims["aud"] == "demo-legevakt" and claims["amr"] == ["pwd"] and claims["idp"] == "testidp-oidc"
    assert claims["helseid://claims/identity/pid"] == LARS
    assert claims["helseid://claims/hpr/hpr_number"] == people.LARS_HPR
    assert claims["name"]
    # Not asked for, so not given (as HelseID): security and assurance level.
    for absent in (
        "helseid://claims/identity/security_level",
        "helseid://claims/identity/assurance_level",
        "pid",
        "acr",
    ):
        assert absent not in claims


async def test_without_openid_no_id_token_is_issued(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    answer = await login.redeem(await login.code(ESKIL, nonce="ignored"))
    assert answer.status_code == 200 and "id_token" not in answer.json()


async def test_openid_is_for_logins_only(sts: StsServer) -> None:
    """A client acting for itself (client_credentials) has no person to identify."""
    assertion = build_client_assertion("demo-legevakt", private_jwk("demo-legevakt"), sts.issuer)
    async with httpx.AsyncClient() as http:
        nonce = (await http.post(sts.issuer + "/connect/token")).headers["dpop-nonce"]
        proof = make_proof(ECKey.generate_key("P-256"), "POST", sts.issuer + "/connect/token", nonce=nonce)
        answer = await http.post(
            sts.issuer + "/connect/token",
            data=assertion_form(assertion, scope="openid"),
            headers={"DPoP": proof},
        )
    assert_refused(answer, "invalid_scope")
    assert "openid" in answer.json()["error_description"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param(
            {"scope": "openid samhandling:patient", "nonce": "x" * 256}, "invalid_request", id="nonce-too-long"
        ),
        pytest.param(
            {"scope": "openid samhandling:patient", "nonce": "a b"}, "invalid_request", id="nonce-not-printable"
        ),
        pytest.param({"scope": "openid samhandling:patient", "prompt": "none"}, "login_required", id="prompt-none"),
        pytest.param(
            {"scope": "openid helseid://scopes/identity/pid"}, "invalid_scope", id="helseid-scope-for-patients"
        ),
    ],
)
async def test_bad_openid_requests_go_back_with_an_error(
    sts: StsServer, http: httpx.AsyncClient, changes: dict[str, str], error: str
) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    answer = await http.get(sts.issuer + "/connect/authorize?" + urlencode(login.query(**changes)))
    params = redirect_params(answer, WEB_CALLBACK)
    assert params["error"] == error and params["state"] == login.state and "code" not in params
