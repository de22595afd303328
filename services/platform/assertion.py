"""Internal assertions: how a backend knows a call was authorised by the gateway.

The gateway signs a short-lived JWT per backend call, bound to one audience (the backend),
one full method name and one patient; backends verify signature, audience, method and
expiry, and refuse a replayed `jti`. Carried in the `x-samhandling-assertion` metadata.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from google.protobuf import json_format
from joserfc import jwt
from joserfc.errors import JoseError

from samhandling.common.v1 import common_pb2

from .errors import unauthenticated
from .keys import Key
from .replay import ReplayCache

METADATA_KEY = "x-samhandling-assertion"
# The gateway's own identity: issuer of assertions, and the actor of its internal calls.
GATEWAY_CLIENT_ID = "samhandling-gateway"
ISSUER = GATEWAY_CLIENT_ID
LIFETIME_SECONDS = 30
LEEWAY_SECONDS = 5
_ALGORITHMS = ["ES256"]


def audience_of(component: str) -> str:
    return f"samhandling-{component}"


@dataclass(frozen=True)
class Assertion:
    """What the gateway vouches for in one backend call."""

    method: str
    actor: common_pb2.Actor
    patient_id: str = ""
    data_categories: tuple[int, ...] = ()
    purpose_of_use: int = 0
    decision_id: str = ""
    trace_id: str = ""
    jti: str = field(default_factory=lambda: uuid.uuid4().hex)


class AssertionSigner:
    def __init__(self, key: Key, clock=time.time) -> None:
        self._key = key
        self._clock = clock

    def sign(self, assertion: Assertion, component: str) -> str:
        now = int(self._clock())
        claims = {
            "iss": ISSUER,
            "aud": audience_of(component),
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
            "jti": assertion.jti,
            "mth": assertion.method,
            "act": json_format.MessageToDict(assertion.actor, preserving_proto_field_name=True),
            "pat": assertion.patient_id,
            "cat": list(assertion.data_categories),
            "pou": assertion.purpose_of_use,
            "did": assertion.decision_id,
            "tid": assertion.trace_id,
        }
        header = {"alg": "ES256", "typ": "samhandling-assertion+jwt", "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=_ALGORITHMS)


class AssertionVerifier:
    """Verifies assertions addressed to one backend component."""

    def __init__(self, public_key: Key, component: str, clock=time.time) -> None:
        self._key = public_key
        self._audience = audience_of(component)
        self._clock = clock
        self._replay = ReplayCache()

    def verify(self, token: str | None, method: str) -> Assertion:
        if not token:
            raise unauthenticated("ASSERTION_MISSING", "this service is reached only through the gateway")
        try:
            decoded = jwt.decode(token, self._key, algorithms=_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                now=int(self._clock()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": ISSUER},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise unauthenticated("ASSERTION_INVALID", f"internal assertion rejected: {exc.__class__.__name__}") from None
        claims = decoded.claims
        if decoded.header.get("typ") != "samhandling-assertion+jwt":
            raise unauthenticated("ASSERTION_INVALID", "internal assertion has the wrong type")
        if claims.get("mth") != method:
            raise unauthenticated("ASSERTION_RETARGETED", "internal assertion was issued for another method")
        if not self._replay.claim(claims["jti"], claims["exp"] + LEEWAY_SECONDS):
            raise unauthenticated("ASSERTION_REPLAYED", "internal assertion was already used")
        return Assertion(
            method=method,
            actor=json_format.ParseDict(claims.get("act", {}), common_pb2.Actor()),
            patient_id=claims.get("pat", ""),
            data_categories=tuple(claims.get("cat", ())),
            purpose_of_use=claims.get("pou", 0),
            decision_id=claims.get("did", ""),
            trace_id=claims.get("tid", ""),
            jti=claims["jti"],
        )
