"""RFC 9068 JWT access tokens carrying HelseID's client claims (DOMAIN.md §1)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet

from .clients import CLIENT_AUTH_METHOD, RegisteredClient
from .keys import AsymmetricKey

AUDIENCE = "nhn:samhandling"
CLAIM_ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
CLAIM_ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
CLAIM_CLIENT_NAME = "helseid://claims/client/client_name"
CLAIM_CLIENT_AMR = "helseid://claims/client/amr"
CLAIM_TRUST_FRAMEWORK = "nhn:tillitsrammeverk:parameters"
PURPOSE_OF_USE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"  # HL7 v3 PurposeOfUse


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Signs `at+jwt` tokens with one key; Authlib adds iss, sub, client_id, scope, jti."""

    def __init__(
        self,
        issuer: str,
        signing_key: AsymmetricKey,
        lifetime_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        alg = signing_key.get("alg") or "ES256"
        super().__init__(issuer=issuer, alg=alg, expires_generator=lifetime_seconds)
        # A one-key set makes joserfc write the key's kid into the JWT header, which
        # Authlib's fixed {"alg", "typ"} header would otherwise lack.
        self._keys = KeySet([signing_key])
        self._lifetime = lifetime_seconds
        self._clock = clock

    def get_jwks(self) -> KeySet:
        return self._keys

    def get_audiences(self, client: RegisteredClient, user: Any, scope: str) -> str:
        return AUDIENCE

    def get_extra_claims(self, client: RegisteredClient, grant_type: str, user: Any, scope: str) -> dict[str, Any]:
        # The time claims are set here from one clock reading: Authlib sets iat/exp but no
        # nbf, and a second reading could straddle a second boundary.
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime,
            CLAIM_ORGNR_PARENT: client.orgnr_parent,
            CLAIM_ORGNR_CHILD: client.orgnr_child,
            CLAIM_CLIENT_NAME: client.client_name,
            CLAIM_CLIENT_AMR: CLIENT_AUTH_METHOD,
        }
        if client.default_purpose_of_use:
            claims[CLAIM_TRUST_FRAMEWORK] = {
                "care_relationship": {
                    "purpose_of_use": {"code": client.default_purpose_of_use, "system": PURPOSE_OF_USE_SYSTEM}
                }
            }
        return claims
