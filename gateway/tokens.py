"""Access-token validation per docs/architecture.md "The request path", step 1: allow-listed asymmetric algorithm that fits the
issuer's key, `typ`, exact `iss`, exactly one `aud`, `exp`/`nbf`/`iat` with a few seconds of
leeway, and the RFC 9068 claims every access token carries.

A token is verified once per gateway process (signature, header, claims) and its verification
kept in a bounded cache (MAX_VERIFIED_TOKENS) keyed by the SHA-256 of the token, never the token
itself. What changes with time is checked on every call: `exp` and `nbf` against the clock,
and the key: the issuer must still publish the very key object it was verified with (the JWKS
cache's current set; a rotation that withdraws the key, or any refresh of the set, makes the
next call verify the signature again). An entry is dropped once its token has expired. There
is no revocation of access tokens in the suite (HelseID's are short-lived and not
introspected); a token that fails verification is never cached, so it fails every time."""

from __future__ import annotations

import hashlib
import heapq
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from services.platform.error_reasons import Reason
from services.platform.helseid import SIGNING_ALGORITHMS
from services.platform.numeric_date import LifetimeTooLong, NumericDateError, token_times

from .jwks import JwksCache, Key

# Asymmetric only: `none` and HS* never verify here, so a token "signed" with the issuer's
# public key as an HMAC secret is refused before any key is looked at.
ALLOWED_ALGORITHMS = frozenset(SIGNING_ALGORITHMS)
# Media types compare case-insensitively; RFC 9068 §4 allows the `application/` prefix too.
ALLOWED_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
LEEWAY_SECONDS = 5
MAX_TOKEN_BYTES = 8192
# exp - iat of an access token; HelseID's are valid for minutes (SAMHANDLING_ACCESS_TOKEN_MAX_LIFETIME_SECONDS).
DEFAULT_MAX_LIFETIME_SECONDS = 3600
# RFC 9068 §2.2: present in every JWT access token.
REQUIRED_STRING_CLAIMS = ("iss", "sub", "client_id", "jti")
# Verified tokens kept per gateway process (docs/limits.md); past it, the soonest to expire goes.
MAX_VERIFIED_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token's verification: its claims, the key it verified with, and its times."""

    claims: dict[str, Any]
    kid: str
    key: Key
    iat: float
    nbf: float | None
    exp: float


class TokenValidator:
    def __init__(
        self,
        jwks: JwksCache,
        issuer: str,
        audience: str,
        clock: Callable[[], float] = time.time,
        max_lifetime_seconds: float = DEFAULT_MAX_LIFETIME_SECONDS,
    ) -> None:
        self._max_lifetime = max_lifetime_seconds
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._verified: dict[bytes, _Verified] = {}  # by SHA-256 of the token
        self._expiries: list[tuple[float, bytes]] = []  # a heap of (exp, digest), for dropping

    async def validate(self, token: str) -> dict[str, Any]:
        """The verified claims of a token (a copy: callers may not change the cached ones), or
        ServiceError with a specific reason."""
        if len(token) > MAX_TOKEN_BYTES:
            raise Reason.TOKEN_TOO_LARGE.error(f"the access token exceeds {MAX_TOKEN_BYTES} bytes")
        digest = hashlib.sha256(token.encode()).digest()
        verified = self._verified.get(digest)
        if verified is not None:
            # jwks.key: a refresh when due, and ISSUER_KEYS_UNAVAILABLE once the keys are too stale.
            if await self._jwks.key(verified.kid) is verified.key:
                try:
                    self._check_times(verified.iat, verified.nbf, verified.exp)
                except BaseException:
                    self._verified.pop(digest, None)
                    raise
                return dict(verified.claims)
            self._verified.pop(digest, None)  # the key set changed: verify the signature again
        verified = await self._verify(token)
        self._remember(digest, verified)
        return dict(verified.claims)

    def cached_verifications(self) -> int:
        """How many verified tokens are held (at most MAX_VERIFIED_TOKENS)."""
        return len(self._verified)

    def _remember(self, digest: bytes, verified: _Verified) -> None:
        now = self._clock()
        expiries = self._expiries
        # Drop what has expired, then the soonest to expire while full. A heap item whose entry
        # was replaced or dropped meanwhile is skipped (the entry's own exp is compared).
        while expiries and (expiries[0][0] + LEEWAY_SECONDS < now or len(self._verified) >= MAX_VERIFIED_TOKENS):
            exp, old = heapq.heappop(expiries)
            if (entry := self._verified.get(old)) is not None and entry.exp == exp:
                del self._verified[old]
        self._verified[digest] = verified
        heapq.heappush(expiries, (verified.exp, digest))
        if len(expiries) > 2 * MAX_VERIFIED_TOKENS:  # stale items of replaced entries
            self._expiries = [(v.exp, d) for d, v in self._verified.items()]
            heapq.heapify(self._expiries)

    async def _verify(self, token: str) -> _Verified:
        header = _header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise Reason.TOKEN_ALGORITHM_NOT_ALLOWED.error("the token's signature algorithm is not allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ALLOWED_TYPES:
            raise Reason.TOKEN_TYPE_INVALID.error("the token's typ must be at+jwt or JWT")
        if "crit" in header:
            raise Reason.TOKEN_MALFORMED.error("the token requires header extensions this API does not know")
        kid = header.get("kid")
        kid = kid if isinstance(kid, str) else ""
        key = await self._jwks.key(kid) if kid else None
        if key is None:
            raise Reason.TOKEN_KEY_UNKNOWN.error("the token is signed with a key the issuer does not publish")
        if not _fits(alg, key):
            raise Reason.TOKEN_ALGORITHM_NOT_ALLOWED.error("the token's algorithm does not fit the issuer's key")
        try:
            payload = jws.deserialize_compact(token, key, algorithms=[alg]).payload
        except BadSignatureError:
            raise Reason.TOKEN_SIGNATURE_INVALID.error("the token's signature does not verify") from None
        except (JoseError, ValueError):
            raise Reason.TOKEN_MALFORMED.error("the access token cannot be decoded") from None
        try:
            claims = json.loads(payload)
        except (ValueError, UnicodeError):
            claims = None
        if not isinstance(claims, dict):
            raise Reason.TOKEN_MALFORMED.error("the access token's payload is not a JSON object")
        iat, nbf, exp = self._check_claims(claims)
        return _Verified(claims, kid, key, iat, nbf, exp)

    def _check_claims(self, claims: dict[str, Any]) -> tuple[float, float | None, float]:
        """The checks of the claims, once per token; returns (iat, nbf, exp)."""
        for name in REQUIRED_STRING_CLAIMS:
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise Reason.TOKEN_MALFORMED.error(f"the access token has no {name}")
        if claims["iss"] != self._issuer:
            raise Reason.ISSUER_MISMATCH.error("the token was issued by another issuer")
        aud = claims.get("aud")
        # Exactly one audience: a token valid for several APIs could be replayed by any of them.
        if aud != self._audience and aud != [self._audience]:
            raise Reason.AUDIENCE_MISMATCH.error(f"the token's audience must be exactly {self._audience}")
        now = self._clock()
        try:
            iat, nbf, exp = token_times(claims, max_lifetime=self._max_lifetime, now=now)
        except LifetimeTooLong as exc:
            raise Reason.TOKEN_LIFETIME_TOO_LONG.error(f"the access token: {exc}") from None
        except NumericDateError as exc:
            raise Reason.TOKEN_MALFORMED.error(f"the token's times must be NumericDates: {exc}") from None
        assert iat is not None
        self._check_times(iat, nbf, exp, now)
        if not isinstance(claims.get("scope", ""), str):
            raise Reason.TOKEN_MALFORMED.error("the token's scope must be a space-separated string")
        cnf = claims.get("cnf")
        if cnf is not None and not (isinstance(cnf, dict) and isinstance(cnf.get("jkt"), str) and cnf["jkt"]):
            # A confirmation this API cannot check (e.g. mTLS x5t#S256) must not be ignored.
            raise Reason.TOKEN_MALFORMED.error("the token's cnf must hold a DPoP key thumbprint (jkt)")
        return iat, nbf, exp

    def _check_times(self, iat: float, nbf: float | None, exp: float, now: float | None = None) -> None:
        """On every call: the token is valid now (with the leeway)."""
        now = self._clock() if now is None else now
        if now > exp + LEEWAY_SECONDS:
            raise Reason.TOKEN_EXPIRED.error("the access token has expired")
        if max(iat, iat if nbf is None else nbf) > now + LEEWAY_SECONDS:
            raise Reason.TOKEN_NOT_YET_VALID.error("the access token is not valid yet")


def _header(token: str) -> dict[str, Any]:
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError, UnicodeError, TypeError):
        header = None
    if not isinstance(header, dict):
        raise Reason.TOKEN_MALFORMED.error("the access token is not a compact JWT")
    return header


def _fits(alg: str, key: Key) -> bool:
    """An RS/PS algorithm needs an RSA key, an ES one an EC key on its own curve."""
    if key.get("alg") not in (None, alg):
        return False
    if alg.startswith(("RS", "PS")):
        return key.key_type == "RSA"
    return key.key_type == "EC" and key.get("crv") == _EC_CURVES[alg]
