"""Internal assertions: how a backend knows a call was authorised by the gateway.

The gateway signs a short-lived JWT per backend call, bound to one audience (the backend),
one full method name, one patient and the request it carries; backends verify signature,
audience, method, request and expiry, and refuse a replayed `jti`. Carried in the
`x-samhandling-assertion` metadata.

The request binding (`req`): base64url(SHA-256(the request message's bytes as sent on the
wire)). The gateway serialises the request once, signs the hash of those bytes and sends those
very bytes; the backend hashes the bytes it received, before it parses them
(services.platform.interceptors). Hashing bytes, not a re-serialisation, is what makes it
exact: protobuf's deterministic serialisation is stable only for one build of one schema, and
a backend that parsed a field it does not know (a newer gateway) or another protobuf version
could write different bytes for the same message. So a captured assertion cannot carry
another body, and nothing about the encoding has to agree but the bytes themselves.

A call whose requests are a stream (only the gateway's own WatchPolicyChanges subscription)
has no single request when it opens: its assertion carries `req` = "stream", which no hash
equals, and a backend accepts that value only on a method whose requests are streamed, and
a hash only on one with a single request. The binding then covers the opening (method,
audience, single use), not the messages: they are the subscription's own protocol
(subscribe, acknowledge), carry no patient data and grant nothing a caller could widen.

Single use holds across every replica of the backend: the `jti` is claimed in the replay
store its replicas share (services.platform.replay_store); a store that cannot answer refuses
the call (UNAVAILABLE REPLAY_STORE_UNAVAILABLE).
"""
from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf import json_format
from joserfc import jwt
from joserfc.errors import JoseError

from samhandling.common.v1 import common_pb2

from .errors import unauthenticated
from .keys import Key
from .numeric_date import NumericDateError, token_times
from .replay import ReplayClaims, ReplayStoreUnavailable, replay_store_unavailable

METADATA_KEY = "x-samhandling-assertion"
# The gateway's own identity: issuer of assertions, and the actor of its internal calls.
GATEWAY_CLIENT_ID = "samhandling-gateway"
ISSUER = GATEWAY_CLIENT_ID
LIFETIME_SECONDS = 30
LEEWAY_SECONDS = 5
_ALGORITHMS = ["ES256"]
# `req` of an assertion that opens a call whose requests are streamed.
STREAM_BINDING = "stream"


def request_binding(body: bytes) -> str:
    """`req` of a call carrying one request: base64url(SHA-256(its bytes on the wire))."""
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()


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
    def __init__(self, key: Key, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def sign(self, assertion: Assertion, component: str, *, request: str) -> str:
        """`request`: request_binding(the bytes sent), or STREAM_BINDING for a request stream."""
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
            "req": request,
        }
        header = {"alg": "ES256", "typ": "samhandling-assertion+jwt", "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=_ALGORITHMS)


class AssertionVerifier:
    """Verifies assertions addressed to one backend component; `replay` is where its replicas
    claim each `jti` (services.platform.replay_store.ReplayStore)."""

    def __init__(
        self, public_key: Key, component: str, replay: ReplayClaims, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = public_key
        self._audience = audience_of(component)
        self._clock = clock
        self._replay = replay

    async def verify(self, token: str | None, method: str, request: str) -> Assertion:
        """`request`: request_binding(the bytes received), or STREAM_BINDING for a request stream."""
        if not token:
            raise unauthenticated("ASSERTION_MISSING", "this service is reached only through the gateway")
        try:
            decoded = jwt.decode(token, self._key, algorithms=_ALGORITHMS)
            # The one NumericDate rule first: joserfc's registry would compare NaN or a fraction.
            token_times(decoded.claims, max_lifetime=LIFETIME_SECONDS, now=self._clock())
            jwt.JWTClaimsRegistry(
                now=int(self._clock()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": ISSUER},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(decoded.claims)
        except NumericDateError as exc:
            raise unauthenticated("ASSERTION_INVALID", f"internal assertion rejected: {exc}") from None
        except (JoseError, ValueError) as exc:
            raise unauthenticated("ASSERTION_INVALID", f"internal assertion rejected: {exc.__class__.__name__}") from None
        claims = decoded.claims
        if decoded.header.get("typ") != "samhandling-assertion+jwt":
            raise unauthenticated("ASSERTION_INVALID", "internal assertion has the wrong type")
        if claims.get("mth") != method:
            raise unauthenticated("ASSERTION_RETARGETED", "internal assertion was issued for another method")
        if claims.get("req") != request:
            raise unauthenticated("ASSERTION_REQUEST_MISMATCH", "internal assertion was issued for another request")
        try:
            first_use = await self._replay.claim(claims["jti"], claims["exp"] + LEEWAY_SECONDS)
        except ReplayStoreUnavailable:
            raise replay_store_unavailable() from None
        if not first_use:
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
