"""Client side: tokens from an STS authenticated with private_key_jwt — client credentials for
systems, the authorization-code flow with PKCE S256 for people, refresh — optionally DPoP-bound.

Works against this development STS and, by the same rules, against HelseID. The login runs
non-interactively only against the development STS's login pages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt

from services.platform.dpop import Key as DpopKey
from services.platform.dpop import make_proof
from services.platform.helseid import PURPOSE_OF_USE_SYSTEM

from .keys import AsymmetricKey, KeyFileError, import_private_jwk
from .login_form import read_login_page
from .trust_framework import DETAILS_TYPE

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
_ALG_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_TIMEOUT = httpx.Timeout(10.0)

# A purpose of use: a code ("TREAT", "ETREAT", "COC", "BTG"), or the whole trust-framework
# parameters ({"care_relationship": {...}, "patients": [...]}) for decision_ref and the like.
Purpose = str | Mapping[str, Any]


class StsTokenError(Exception):
    """The STS could not be reached, or refused the request (`error` is its RFC 6749 code)."""

    def __init__(
        self, message: str, *, status: int | None = None, error: str | None = None, description: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    refresh_token: str | None
    token_type: str  # "Bearer" or "DPoP"
    expires_in: int | None
    scope: str | None = None
    id_token: str | None = None  # OpenID Connect: on the authorization-code grant with scope openid


@dataclass(frozen=True)
class StsEndpoints:
    issuer: str
    token_endpoint: str
    authorization_endpoint: str | None


def trust_framework_details(purpose: Purpose) -> list[dict[str, Any]]:
    """`authorization_details` (RFC 9396) carrying a trust-framework attestation."""
    if isinstance(purpose, str):
        parameters: dict[str, Any] = {
            "care_relationship": {"purpose_of_use": {"code": purpose, "system": PURPOSE_OF_USE_SYSTEM}}
        }
    else:
        parameters = dict(purpose)
    return [{"type": DETAILS_TYPE, **parameters}]


def build_client_assertion(
    client_id: str,
    private_jwk: Mapping[str, Any],
    audience: str,
    *,
    now: int | None = None,
    lifetime_seconds: int = ASSERTION_LIFETIME_SECONDS,
    jti: str | None = None,
    authorization_details: list[dict[str, Any]] | None = None,
) -> str:
    """A signed client assertion: iss = sub = client_id, aud, random jti, iat/nbf now, short exp."""
    key = _signing_key(private_jwk)
    issued_at = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti or secrets.token_urlsafe(24),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + lifetime_seconds,
    }
    if authorization_details is not None:
        claims["authorization_details"] = authorization_details
    alg = _algorithm(key)
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


async def discover(http: httpx.AsyncClient, issuer: str) -> StsEndpoints:
    """Reads the issuer's discovery document; its `issuer` must match (RFC 8414 §3.3)."""
    url = issuer + "/.well-known/openid-configuration"
    try:
        response = await http.get(url)
    except httpx.HTTPError as exc:
        raise StsTokenError(f"cannot reach the STS at {issuer}: {exc.__class__.__name__}") from None
    document = _json_object(response)
    if response.status_code != 200 or document is None:
        raise StsTokenError(f"discovery at {url} failed with HTTP {response.status_code}", status=response.status_code)
    if document.get("issuer") != issuer or not isinstance(document.get("token_endpoint"), str):
        raise StsTokenError(f"discovery at {url} names another issuer or no token endpoint")
    authorize = document.get("authorization_endpoint")
    return StsEndpoints(issuer, document["token_endpoint"], authorize if isinstance(authorize, str) else None)


async def fetch_client_credentials_token(
    issuer: str,
    client_id: str,
    private_jwk: Mapping[str, Any],
    scope: str | None = None,
    *,
    dpop_key: DpopKey | None = None,
    purpose: Purpose | None = None,
) -> str:
    """Discovers the token endpoint, authenticates with private_key_jwt, returns the access token
    (DPoP-bound to `dpop_key` if given; `purpose` is attested in the assertion)."""
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
        endpoints = await discover(http, issuer.rstrip("/"))
        token = await request_token(http, endpoints, client_id, private_jwk, form, dpop_key=dpop_key, purpose=purpose)
    return token.access_token


async def login_token(
    issuer: str,
    client_id: str,
    private_jwk: Mapping[str, Any],
    redirect_uri: str,
    person_pid: str,
    *,
    kind: Literal["personnel", "patient"],
    scope: str | None = None,
    dpop_key: DpopKey | None = None,
    purpose: Purpose | None = None,
) -> TokenResponse:
    """The authorization-code flow as a browser and the client would run it: GET the authorize
    URL (PKCE S256), post the login form choosing the person, take the code from the redirect
    (not followed) and redeem it with private_key_jwt (+ DPoP)."""
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    async with httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False) as http:
        endpoints = await discover(http, issuer.rstrip("/"))
        if endpoints.authorization_endpoint is None:
            raise StsTokenError(f"the STS at {issuer} has no authorization endpoint")
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "login_hint": person_pid,
            **({"scope": scope} if scope else {}),
        }
        page_url = endpoints.authorization_endpoint + "?" + urlencode(query)
        page = await _send(http, "GET", page_url)
        if page.status_code == 302:
            raise _redirect_error(page.headers.get("location", ""))
        form, alert = read_login_page(page.text)
        if page.status_code != 200 or form is None:
            raise StsTokenError(
                f"the STS refused the login (HTTP {page.status_code}): {alert}", status=page.status_code
            )
        if form.kind != kind:
            raise StsTokenError(f"client {client_id} logs in {form.kind}, not {kind}")
        if person_pid not in form.choices.get("person", []):
            raise StsTokenError(f"the chosen person cannot log in at client {client_id}")
        fields = {**form.hidden, "person": person_pid, "action": "login"}
        answer = await _send(http, "POST", urljoin(page_url, form.action), data=fields)
        code = _code_from_redirect(answer, redirect_uri, state)
        grant = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return await request_token(http, endpoints, client_id, private_jwk, grant, dpop_key=dpop_key, purpose=purpose)


async def refresh_access_token(
    issuer: str,
    client_id: str,
    private_jwk: Mapping[str, Any],
    refresh_token: str,
    *,
    scope: str | None = None,
    dpop_key: DpopKey | None = None,
    purpose: Purpose | None = None,
) -> TokenResponse:
    """A new access token (and the next refresh token: each one works once)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **({"scope": scope} if scope else {})}
    async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
        endpoints = await discover(http, issuer.rstrip("/"))
        return await request_token(http, endpoints, client_id, private_jwk, form, dpop_key=dpop_key, purpose=purpose)


async def request_token(
    http: httpx.AsyncClient,
    endpoints: StsEndpoints,
    client_id: str,
    private_jwk: Mapping[str, Any],
    grant: Mapping[str, str],
    *,
    dpop_key: DpopKey | None,
    purpose: Purpose | None,
) -> TokenResponse:
    """POSTs a token request; answers one `use_dpop_nonce` challenge (RFC 9449 §8) by retrying."""
    details = trust_framework_details(purpose) if purpose is not None else None
    nonce: str | None = None
    for attempt in (1, 2):
        # A fresh assertion per attempt: its jti is single-use wherever the STS checks it.
        assertion = build_client_assertion(client_id, private_jwk, endpoints.issuer, authorization_details=details)
        form = {**grant, "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}
        headers = {}
        if dpop_key is not None:
            headers["DPoP"] = make_proof(dpop_key, "POST", endpoints.token_endpoint, nonce=nonce)
        response = await _send(http, "POST", endpoints.token_endpoint, data=form, headers=headers)
        body = _json_object(response)
        error = body.get("error") if body else None
        if error == "use_dpop_nonce" and dpop_key is not None and attempt == 1 and response.headers.get("dpop-nonce"):
            nonce = response.headers["dpop-nonce"]
            continue
        break
    if response.status_code != 200:
        description = body.get("error_description") if body else response.text[:200]
        raise StsTokenError(
            f"the STS refused the token request (HTTP {response.status_code}): {error}: {description}",
            status=response.status_code,
            error=error,
            description=description,
        )
    if body is None or not isinstance(body.get("access_token"), str):
        raise StsTokenError("the STS answered without an access_token", status=response.status_code)
    token_type = str(body.get("token_type", ""))
    if dpop_key is not None and token_type.lower() != "dpop":
        # RFC 9449 §5: a client that asked for a bound token must not use a bearer one.
        raise StsTokenError(f"the STS issued a {token_type} token where a DPoP-bound one was asked for")
    expires_in = body.get("expires_in")
    refresh = body.get("refresh_token")
    return TokenResponse(
        access_token=body["access_token"],
        refresh_token=refresh if isinstance(refresh, str) else None,
        token_type=token_type,
        expires_in=expires_in if isinstance(expires_in, int) else None,
        scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
        id_token=body.get("id_token") if isinstance(body.get("id_token"), str) else None,
    )


async def _send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        target = urlsplit(url)._replace(query="").geturl()
        raise StsTokenError(f"cannot reach {target}: {exc.__class__.__name__}") from None


def _code_from_redirect(response: httpx.Response, redirect_uri: str, state: str) -> str:
    if response.status_code != 302:
        _, alert = read_login_page(response.text)
        raise StsTokenError(f"the login failed (HTTP {response.status_code}): {alert}", status=response.status_code)
    location = response.headers.get("location", "")
    if location.split("?")[0] != redirect_uri.split("?")[0]:
        raise StsTokenError("the STS redirected somewhere else than the redirect_uri")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if "error" in params:
        raise _redirect_error(location)
    if params.get("state") != state:
        raise StsTokenError("the redirect carries another state than the request (possible CSRF)")
    if not params.get("code"):
        raise StsTokenError("the redirect carries no code")
    return params["code"]


def _redirect_error(location: str) -> StsTokenError:
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    error, description = params.get("error"), params.get("error_description")
    return StsTokenError(
        f"the STS refused the authorization request: {error}: {description}", error=error, description=description
    )


def _signing_key(private_jwk: Mapping[str, Any]) -> AsymmetricKey:
    try:
        return import_private_jwk(private_jwk)
    except KeyFileError as exc:
        raise StsTokenError(f"unusable client key: {exc}") from None


def _algorithm(key: AsymmetricKey) -> str:
    alg = key.get("alg")
    if isinstance(alg, str):
        return alg
    if key.key_type == "RSA":
        return "PS256"
    crv = key.get("crv")
    if crv not in _ALG_BY_CURVE:
        raise StsTokenError(f"unsupported client key curve: {crv}")
    return _ALG_BY_CURVE[crv]


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
