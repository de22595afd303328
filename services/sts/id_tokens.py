"""OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6), issued on the authorization-code flow
when the client asked for scope `openid`, as HelseID and ID-porten issue them.

Both: iss, sub (the access token's subject), aud (the client), iat, exp, auth_time (when the
person chose themselves at the login page), nonce (echoed when the authorization request sent
one) and at_hash (the left half of the access token's hash under the signing algorithm's hash).
Signed RS256 (OpenID Connect Discovery requires it; HelseID and ID-porten sign so) with the
STS's ID-token key (services/sts/config.py), published in the JWKS beside the access-token keys.

Health personnel (HelseID-like): amr ["pwd"] and idp "testidp-oidc" (HelseID's test identity
provider), nbf; the identity claims only for the scopes that ask for them, as HelseID does:
`helseid://scopes/identity/pid` (pid), `.../security_level` and `.../assurance_level`,
`helseid://scopes/hpr/hpr_number`, and `profile` (name).
Patients (ID-porten-like): acr "idporten-loa-high", amr ["TestID"] (ID-porten's test
identities), pid, locale "nb", jti; `profile` adds the name.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt

from services.platform import helseid

from .access_tokens import LOGIN_SECURITY_LEVEL
from .client_registry import RegisteredClient
from .identity_scopes import ASSURANCE_LEVEL_SCOPE, HPR_NUMBER_SCOPE, OPENID, PID_SCOPE, PROFILE, SECURITY_LEVEL_SCOPE
from .keys import AsymmetricKey
from .people import Person

ASSURANCE_LEVEL = "helseid://claims/identity/assurance_level"
# A nonce is echoed into the ID token, so it is bounded and printable ASCII.
MAX_NONCE_LENGTH = 255
HELSEID_AMR = ["pwd"]
HELSEID_IDP = "testidp-oidc"
IDPORTEN_ACR = "idporten-loa-high"
IDPORTEN_AMR = ["TestID"]
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def wants_id_token(scope: str) -> bool:
    return OPENID in scope.split()


def valid_nonce(nonce: str) -> bool:
    return 0 < len(nonce) <= MAX_NONCE_LENGTH and all(" " < c <= "~" for c in nonce)


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6: base64url of the left half of the hash the JWS algorithm uses."""
    digest = _HASHES[alg[-3:]](access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


class IdTokenIssuer:
    def __init__(
        self, issuer: str, key: AsymmetricKey, lifetime_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        if key.get("alg") != "RS256":
            raise ValueError("the ID-token key must be an RS256 key (OpenID Connect Discovery requires RS256)")
        self._issuer = issuer
        self._key = key
        self._lifetime = lifetime_seconds
        self._clock = clock

    def issue(
        self,
        client: RegisteredClient,
        person: Person,
        *,
        scope: str,
        nonce: str | None,
        auth_time: int,
        access_token: str,
    ) -> str:
        key = self._key
        alg = "RS256"
        claims = self.claims(client, person, scope=scope, nonce=nonce, auth_time=auth_time, now=int(self._clock()))
        claims["at_hash"] = at_hash(access_token, alg)
        return jwt.encode({"typ": "JWT", "alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])

    def claims(
        self, client: RegisteredClient, person: Person, *, scope: str, nonce: str | None, auth_time: int, now: int
    ) -> dict[str, Any]:
        scopes = set(scope.split())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": person.subject,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self._lifetime,
            "auth_time": auth_time,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if person.kind == "patient":
            claims.update(
                acr=IDPORTEN_ACR, amr=IDPORTEN_AMR, pid=person.pid, locale="nb", jti=secrets.token_urlsafe(16)
            )
        else:
            claims.update(nbf=now, amr=HELSEID_AMR, idp=HELSEID_IDP)
            if PID_SCOPE in scopes:
                claims[helseid.PID] = person.pid
            if SECURITY_LEVEL_SCOPE in scopes:
                claims[helseid.SECURITY_LEVEL] = LOGIN_SECURITY_LEVEL
            if ASSURANCE_LEVEL_SCOPE in scopes:
                claims[ASSURANCE_LEVEL] = "high"
            if HPR_NUMBER_SCOPE in scopes and person.hpr_number:
                claims[helseid.HPR_NUMBER] = person.hpr_number
        if PROFILE in scopes:
            claims["name"] = person.name
        return claims
