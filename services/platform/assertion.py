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

The encoding is a JWS (RFC 7515) in compact form with ES256 (ECDSA P-256, SHA-256), written and
read here with the `cryptography` library's ECDSA directly rather than through a general JWT
library, because the format is fixed: the protected header is one constant per key,
`{"alg":"ES256","typ":"samhandling-assertion+jwt","kid":…}`, and a backend accepts exactly
that header (no other member, no other algorithm); the payload is compact JSON whose `act` is
the Actor message's protobuf bytes (base64url). So a hop costs one ECDSA signature, one
verification, and a few microseconds of JSON and base64 (docs/internal-assertion.md: why this
construction, and what it costs).

Single use holds across every replica of the backend: the `jti` is claimed in the replay
store its replicas share (services.platform.replay_store); a store that cannot answer refuses
the call (UNAVAILABLE REPLAY_STORE_UNAVAILABLE).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from google.protobuf.message import DecodeError
from joserfc.jwk import ECKey

from samhandling.common.v1 import common_pb2
from services.platform.error_reasons import Reason

from .errors import ServiceError
from .keys import Key
from .numeric_date import NumericDateError, token_times
from .replay import ReplayClaims, ReplayStoreUnavailable, replay_store_unavailable
from .settings import SettingsError

METADATA_KEY = "x-samhandling-assertion"
# The gateway's own identity: issuer of assertions, and the actor of its internal calls.
GATEWAY_CLIENT_ID = "samhandling-gateway"
ISSUER = GATEWAY_CLIENT_ID
LIFETIME_SECONDS = 30
LEEWAY_SECONDS = 5
ALGORITHM = "ES256"
TYPE = "samhandling-assertion+jwt"
# Far above a real one (about 1 KB); a longer value is refused before any work is done on it.
MAX_ASSERTION_BYTES = 8192
# `req` of an assertion that opens a call whose requests are streamed.
STREAM_BINDING = "stream"

_ECDSA = ec.ECDSA(hashes.SHA256())
_COORDINATE_BYTES = 32  # P-256: r and s are 32 bytes each in a JWS signature (RFC 7518 section 3.4)
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})


def request_binding(body: bytes) -> str:
    """`req` of a call carrying one request: base64url(SHA-256(its bytes on the wire))."""
    return _b64encode(hashlib.sha256(body).digest())


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


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(segment: str) -> bytes:
    """base64url without padding; the caller has checked the alphabet (_COMPACT)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _header(kid: str | None) -> str:
    """The protected header of every assertion signed with a key of this `kid`, encoded."""
    header = {"alg": ALGORITHM, "typ": TYPE} | ({"kid": kid} if kid else {})
    return _b64encode(json.dumps(header, separators=(",", ":")).encode())


def _p256(key: Key) -> ECKey:
    if not isinstance(key, ECKey) or key.curve_name != "P-256":
        raise SettingsError("the internal assertion key must be an EC P-256 key (ES256)")
    return key


class AssertionSigner:
    def __init__(self, key: Key, clock: Callable[[], float] = time.time) -> None:
        private = _p256(key).private_key
        if private is None:
            raise SettingsError("the internal assertion signing key holds no private key")
        self._private: ec.EllipticCurvePrivateKey = private
        self._header = _header(key.kid)
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
            "act": _b64encode(assertion.actor.SerializeToString()),
            "pat": assertion.patient_id,
            "cat": list(assertion.data_categories),
            "pou": assertion.purpose_of_use,
            "did": assertion.decision_id,
            "tid": assertion.trace_id,
            "req": request,
        }
        signing_input = f"{self._header}.{_b64encode(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(self._private.sign(signing_input.encode("ascii"), _ECDSA))
        signature = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
        return f"{signing_input}.{_b64encode(signature)}"


class AssertionVerifier:
    """Verifies assertions addressed to one backend component; `replay` is where its replicas
    claim each `jti` (services.platform.replay_store.ReplayStore)."""

    def __init__(
        self, public_key: Key, component: str, replay: ReplayClaims, clock: Callable[[], float] = time.time
    ) -> None:
        self._public: ec.EllipticCurvePublicKey = _p256(public_key).public_key
        self._header = _header(public_key.kid)
        self._audience = audience_of(component)
        self._clock = clock
        self._replay = replay

    async def verify(self, token: str | None, method: str, request: str) -> Assertion:
        """`request`: request_binding(the bytes received), or STREAM_BINDING for a request stream.
        Every check, then the `jti`'s claim: `check` and `claim` in that order."""
        assertion, claim_until = self.check(token, method, request)
        await self.claim(assertion.jti, claim_until)
        return assertion

    def check(self, token: str | None, method: str, request: str) -> tuple[Assertion, float]:
        """Every check but single use: the assertion, and until when its `jti` must stay claimed
        (its acceptance window's end). Raises ServiceError as `verify`."""
        if not token:
            raise Reason.ASSERTION_MISSING.error("this service is reached only through the gateway")
        claims = self._verified_claims(token)
        if claims.get("mth") != method:
            raise Reason.ASSERTION_RETARGETED.error("internal assertion was issued for another method")
        if claims.get("req") != request:
            raise Reason.ASSERTION_REQUEST_MISMATCH.error("internal assertion was issued for another request")
        return _assertion_of(claims, method), claims["exp"] + LEEWAY_SECONDS

    async def claim(self, jti: str, claim_until: float) -> None:
        """Claims a checked assertion's `jti` in the replay store its replicas share: refuses
        (ASSERTION_REPLAYED) one already claimed, and (REPLAY_STORE_UNAVAILABLE) when the store
        cannot answer."""
        try:
            first_use = await self._replay.claim(jti, claim_until)
        except ReplayStoreUnavailable:
            raise replay_store_unavailable() from None
        if not first_use:
            raise Reason.ASSERTION_REPLAYED.error("internal assertion was already used")

    def _verified_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token whose header, signature, issuer, audience and times are right."""
        if len(token) > MAX_ASSERTION_BYTES or not _COMPACT.fullmatch(token):
            raise _invalid("internal assertion is not a compact JWS")
        header, payload, signature = token.split(".")
        if header != self._header and not _acceptable_header(header):
            raise _invalid("internal assertion has the wrong type or algorithm")
        try:
            raw = _b64decode(signature)
        except binascii.Error:
            raw = b""
        if len(raw) != 2 * _COORDINATE_BYTES:
            raise _invalid("internal assertion rejected: BadSignatureError")
        der = encode_dss_signature(
            int.from_bytes(raw[:_COORDINATE_BYTES], "big"), int.from_bytes(raw[_COORDINATE_BYTES:], "big")
        )
        try:
            self._public.verify(der, f"{header}.{payload}".encode("ascii"), _ECDSA)
        except InvalidSignature:
            raise _invalid("internal assertion rejected: BadSignatureError") from None
        try:
            claims = json.loads(_b64decode(payload))
        except (ValueError, binascii.Error):
            raise _invalid("internal assertion rejected: its payload is no JSON") from None
        if not isinstance(claims, dict):
            raise _invalid("internal assertion rejected: its payload is no JSON object")
        now = self._clock()
        try:
            # The one NumericDate rule (services.platform.numeric_date): NaN, fractions, strings refused.
            iat, nbf, exp = token_times(claims, max_lifetime=LIFETIME_SECONDS, now=now)
        except NumericDateError as exc:
            raise _invalid(f"internal assertion rejected: {exc}") from None
        if claims.get("iss") != ISSUER:
            raise _invalid("internal assertion rejected: InvalidClaimError (iss)")
        if claims.get("aud") != self._audience:
            raise _invalid("internal assertion rejected: InvalidClaimError (aud)")
        if now >= exp + LEEWAY_SECONDS:
            raise _invalid("internal assertion rejected: ExpiredTokenError")
        if (iat is not None and iat > now + LEEWAY_SECONDS) or (nbf is not None and nbf > now + LEEWAY_SECONDS):
            raise _invalid("internal assertion rejected: InvalidClaimError (iat, nbf)")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            raise _invalid("internal assertion rejected: MissingClaimError (jti)")
        return claims


def _acceptable_header(segment: str) -> bool:
    """A header other than this key's constant: still acceptable if it names only ES256, the
    type and some `kid` (a verifier's public key file without the signer's `kid`)."""
    try:
        header = json.loads(_b64decode(segment))
    except (ValueError, binascii.Error):
        return False
    return (
        isinstance(header, dict)
        and header.keys() <= _HEADER_MEMBERS
        and header.get("alg") == ALGORITHM
        and header.get("typ") == TYPE
        and isinstance(header.get("kid", ""), str)
    )


def _assertion_of(claims: Mapping[str, Any], method: str) -> Assertion:
    """The verified claims as an Assertion; a claim of the wrong type is an invalid assertion."""
    encoded_actor = _text(claims, "act")
    if not _BASE64URL.fullmatch(encoded_actor):
        raise _invalid("internal assertion rejected: its actor is malformed")
    try:
        actor = common_pb2.Actor.FromString(_b64decode(encoded_actor))
    except (DecodeError, ValueError, binascii.Error):
        raise _invalid("internal assertion rejected: its actor is malformed") from None
    categories = claims.get("cat", [])
    purpose = claims.get("pou", 0)
    if not isinstance(categories, list) or not all(type(c) is int for c in categories) or type(purpose) is not int:
        raise _invalid("internal assertion rejected: its categories or purpose are malformed")
    return Assertion(
        method=method,
        actor=actor,
        patient_id=_text(claims, "pat"),
        data_categories=tuple(categories),
        purpose_of_use=purpose,
        decision_id=_text(claims, "did"),
        trace_id=_text(claims, "tid"),
        jti=claims["jti"],
    )


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name, "")
    if not isinstance(value, str):
        raise _invalid(f"internal assertion rejected: its {name} is no string")
    return value


def _invalid(message: str) -> ServiceError:
    return Reason.ASSERTION_INVALID.error(message)
