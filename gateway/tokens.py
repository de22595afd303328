"""Access-token validation per README "The request path" (HelseID): allow-listed asymmetric algorithm that fits the
issuer's key, `typ`, exact `iss`, exactly one `aud`, `exp`/`nbf`/`iat` with a few seconds of
leeway, and the RFC 9068 claims every access token carries."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeGuard

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from services.platform.errors import unauthenticated
from services.platform.helseid import SIGNING_ALGORITHMS

from .jwks import JwksCache, Key

# Asymmetric only: `none` and HS* never verify here, so a token "signed" with the issuer's
# public key as an HMAC secret is refused before any key is looked at.
ALLOWED_ALGORITHMS = frozenset(SIGNING_ALGORITHMS)
# Media types compare case-insensitively; RFC 9068 §4 allows the `application/` prefix too.
ALLOWED_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
LEEWAY_SECONDS = 5
MAX_TOKEN_BYTES = 8192
# RFC 9068 §2.2: present in every JWT access token.
REQUIRED_STRING_CLAIMS = ("iss", "sub", "client_id", "jti")


class TokenValidator:
    def __init__(
        self, jwks: JwksCache, issuer: str, audience: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._clock = clock

    async def validate(self, token: str) -> dict[str, Any]:
        """The verified claims of a token, or ServiceError with a specific reason."""
        if len(token) > MAX_TOKEN_BYTES:
            raise unauthenticated("TOKEN_TOO_LARGE", f"the access token exceeds {MAX_TOKEN_BYTES} bytes")
        header = _header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise unauthenticated("TOKEN_ALGORITHM_NOT_ALLOWED", "the token's signature algorithm is not allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ALLOWED_TYPES:
            raise unauthenticated("TOKEN_TYPE_INVALID", "the token's typ must be at+jwt or JWT")
        if "crit" in header:
            raise unauthenticated("TOKEN_MALFORMED", "the token requires header extensions this API does not know")
        kid = header.get("kid")
        key = await self._jwks.key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise unauthenticated("TOKEN_KEY_UNKNOWN", "the token is signed with a key the issuer does not publish")
        if not _fits(alg, key):
            raise unauthenticated("TOKEN_ALGORITHM_NOT_ALLOWED", "the token's algorithm does not fit the issuer's key")
        try:
            payload = jws.deserialize_compact(token, key, algorithms=[alg]).payload
        except BadSignatureError:
            raise unauthenticated("TOKEN_SIGNATURE_INVALID", "the token's signature does not verify") from None
        except (JoseError, ValueError):
            raise unauthenticated("TOKEN_MALFORMED", "the access token cannot be decoded") from None
        try:
            claims = json.loads(payload)
        except (ValueError, UnicodeError):
            claims = None
        if not isinstance(claims, dict):
            raise unauthenticated("TOKEN_MALFORMED", "the access token's payload is not a JSON object")
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        for name in REQUIRED_STRING_CLAIMS:
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise unauthenticated("TOKEN_MALFORMED", f"the access token has no {name}")
        if claims["iss"] != self._issuer:
            raise unauthenticated("ISSUER_MISMATCH", "the token was issued by another issuer")
        aud = claims.get("aud")
        # Exactly one audience: a token valid for several APIs could be replayed by any of them.
        if aud != self._audience and aud != [self._audience]:
            raise unauthenticated("AUDIENCE_MISMATCH", f"the token's audience must be exactly {self._audience}")
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", claims.get("iat"))
        if not (_is_time(exp) and _is_time(iat) and _is_time(nbf)):
            raise unauthenticated("TOKEN_MALFORMED", "the token's exp, iat and nbf must be numeric dates")
        now = self._clock()
        if now > exp + LEEWAY_SECONDS:
            raise unauthenticated("TOKEN_EXPIRED", "the access token has expired")
        if max(iat, nbf) > now + LEEWAY_SECONDS:
            raise unauthenticated("TOKEN_NOT_YET_VALID", "the access token is not valid yet")
        if not isinstance(claims.get("scope", ""), str):
            raise unauthenticated("TOKEN_MALFORMED", "the token's scope must be a space-separated string")
        cnf = claims.get("cnf")
        if cnf is not None and not (isinstance(cnf, dict) and isinstance(cnf.get("jkt"), str) and cnf["jkt"]):
            # A confirmation this API cannot check (e.g. mTLS x5t#S256) must not be ignored.
            raise unauthenticated("TOKEN_MALFORMED", "the token's cnf must hold a DPoP key thumbprint (jkt)")


def _header(token: str) -> dict[str, Any]:
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError, UnicodeError, TypeError):
        header = None
    if not isinstance(header, dict):
        raise unauthenticated("TOKEN_MALFORMED", "the access token is not a compact JWT")
    return header


def _fits(alg: str, key: Key) -> bool:
    """An RS/PS algorithm needs an RSA key, an ES one an EC key on its own curve."""
    if key.get("alg") not in (None, alg):
        return False
    if alg.startswith(("RS", "PS")):
        return key.key_type == "RSA"
    return key.key_type == "EC" and key.get("crv") == _EC_CURVES[alg]


def _is_time(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
