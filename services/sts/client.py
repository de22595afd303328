"""Client side: get an access token from an STS with client credentials + private_key_jwt.

Works against this development STS and, by the same rules, against HelseID.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import httpx
from joserfc import jwt

from .keys import AsymmetricKey, KeyFileError, import_private_jwk

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 60
_ALG_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_TIMEOUT = httpx.Timeout(10.0)


class StsTokenError(Exception):
    """The STS could not be reached, or refused the request (`error` is its RFC 6749 code)."""

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None,
                 description: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.description = description


def build_client_assertion(
    client_id: str,
    private_jwk: Mapping[str, Any],
    audience: str,
    *,
    now: int | None = None,
    lifetime_seconds: int = ASSERTION_LIFETIME_SECONDS,
    jti: str | None = None,
) -> str:
    """A signed client assertion: iss = sub = client_id, aud, random jti, iat/nbf now, short exp."""
    key = _signing_key(private_jwk)
    issued_at = int(time.time()) if now is None else now
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti or secrets.token_urlsafe(24),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + lifetime_seconds,
    }
    header = {"alg": _algorithm(key), "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


async def discover_token_endpoint(http: httpx.AsyncClient, issuer: str) -> str:
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
    return document["token_endpoint"]


async def request_token(
    http: httpx.AsyncClient, token_endpoint: str, client_assertion: str, scope: str | None = None
) -> dict[str, Any]:
    """POSTs a client_credentials request; returns the token response or raises StsTokenError."""
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }
    if scope:
        form["scope"] = scope
    try:
        response = await http.post(token_endpoint, data=form)
    except httpx.HTTPError as exc:
        raise StsTokenError(f"cannot reach the token endpoint {token_endpoint}: {exc.__class__.__name__}") from None
    body = _json_object(response)
    if response.status_code != 200:
        error = body.get("error") if body else None
        description = body.get("error_description") if body else response.text[:200]
        raise StsTokenError(
            f"the STS refused the token request (HTTP {response.status_code}): {error}: {description}",
            status=response.status_code,
            error=error,
            description=description,
        )
    if body is None or not isinstance(body.get("access_token"), str):
        raise StsTokenError("the STS answered without an access_token", status=response.status_code)
    return body


async def fetch_client_credentials_token(
    issuer: str, client_id: str, private_jwk: dict[str, Any], scope: str | None = None
) -> str:
    """Discovers the token endpoint, authenticates with private_key_jwt, returns the access token."""
    issuer = issuer.rstrip("/")
    async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
        token_endpoint = await discover_token_endpoint(http, issuer)
        # aud = the issuer, as HelseID asks (DOMAIN.md §1).
        assertion = build_client_assertion(client_id, private_jwk, issuer)
        token = await request_token(http, token_endpoint, assertion, scope)
    return token["access_token"]


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
