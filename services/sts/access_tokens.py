"""RFC 9068 JWT access tokens with HelseID's claims (docs/architecture.md "The request path", step 1).

One issuer for every grant: the client's own access (client_credentials) or a logged-in
person's (authorization_code, refresh_token), optionally bound to a DPoP key (`cnf.jkt`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt

from services.platform import helseid

from . import trust_framework
from .client_registry import CLIENT_AUTH_METHOD, RegisteredClient
from .key_store import SigningKeys
from .people import Person
from .trust_framework import Attestation

# Every development login stands in for a high-assurance one (BankID / ID-porten "high").
LOGIN_SECURITY_LEVEL = "4"


@dataclass(frozen=True)
class Authorization:
    """What a token is issued for: a person (None: the client itself), what the client
    attested about the care situation, and the DPoP key it is bound to."""

    person: Person | None = None
    attestation: Attestation | None = None
    jkt: str | None = None


class AccessTokenIssuer:
    def __init__(
        self,
        issuer: str,
        audience: str,
        keys: SigningKeys,
        lifetime_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._keys = keys
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock

    def issue(self, client: RegisteredClient, scope: str, authorization: Authorization) -> dict[str, Any]:
        """The token response (RFC 6749 §5.1), without a refresh token."""
        key = self._keys.signing_key()
        alg = key.get("alg")
        alg = alg if isinstance(alg, str) and alg else "ES256"
        claims = self.claims(client, scope, authorization, int(self._clock()))
        token = jwt.encode({"typ": "at+jwt", "alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])
        return {
            "access_token": token,
            "token_type": "DPoP" if authorization.jkt else "Bearer",
            "expires_in": self.lifetime_seconds,
            "scope": scope,
        }

    def claims(self, client: RegisteredClient, scope: str, authorization: Authorization, now: int) -> dict[str, Any]:
        person = authorization.person
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": person.subject if person else client.client_id,
            "client_id": client.client_id,
            "scope": scope,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime_seconds,
            helseid.CLIENT_NAME: client.client_name,
            helseid.CLIENT_AMR: CLIENT_AUTH_METHOD,
        }
        legal_entity, point_of_care = organisation(client, person)
        if legal_entity and point_of_care:
            claims[helseid.ORGNR_PARENT] = legal_entity
            claims[helseid.ORGNR_CHILD] = point_of_care
        if person:
            claims[helseid.PID] = person.pid
            claims[helseid.SECURITY_LEVEL] = LOGIN_SECURITY_LEVEL
            if person.hpr_number:
                claims[helseid.HPR_NUMBER] = person.hpr_number
        if authorization.jkt:
            claims["cnf"] = {"jkt": authorization.jkt}
        if parameters := _trust_framework(client, authorization):
            claims[helseid.TRUST_FRAMEWORK] = parameters
        return claims


def organisation(client: RegisteredClient, person: Person | None) -> tuple[str | None, str | None]:
    """The legal entity and point of care a token acts for: the client's own, or at a
    multi-tenant client the employer of the person who logged in."""
    if client.multi_tenant and person is not None:
        return person.orgnr_parent, person.orgnr_child
    return client.orgnr_parent, client.orgnr_child


def _trust_framework(client: RegisteredClient, authorization: Authorization) -> dict[str, Any] | None:
    """Practitioner from the login; care situation from the client's attestation, else its
    registered default purpose. Patients get none: they act for themselves."""
    person = authorization.person
    if person is not None and person.kind == "patient":
        return None
    parameters: dict[str, Any] = {}
    if person is not None and person.hpr_number and person.authorization:
        legal_entity, point_of_care = organisation(client, person)
        parameters["practitioner"] = trust_framework.practitioner(
            pid=person.pid,
            hpr_number=person.hpr_number,
            authorization=person.authorization,
            legal_entity=legal_entity,
            point_of_care=point_of_care,
        )
    if authorization.attestation is not None:
        parameters.update(authorization.attestation.parameters)
    elif client.default_purpose_of_use:
        parameters.update(trust_framework.default_parameters(client.default_purpose_of_use))
    return parameters or None
