"""Access-token validation per DOMAIN.md §1: allow-listed asymmetric algorithm, `typ`,
exact `iss`, exact single `aud`, `exp`/`nbf` with a few seconds of leeway."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError

from services.platform.errors import unauthenticated

from .jwks import JwksCache

ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
ALLOWED_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
LEEWAY_SECONDS = 5


class TokenValidator:
    def __init__(self, jwks: JwksCache, issuer: str, audience: str, clock: Callable[[], float] = time.time) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._clock = clock

    async def validate(self, token: str) -> dict[str, Any]:
        """The verified claims of a token, or ServiceError with a specific reason."""
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, UnicodeError):
            raise unauthenticated("TOKEN_MALFORMED", "the access token is not a compact JWT") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise unauthenticated("TOKEN_ALGORITHM_NOT_ALLOWED", "the token's signature algorithm is not allowed")
        if str(header.get("typ", "")).lower() not in ALLOWED_TYPES:
            raise unauthenticated("TOKEN_TYPE_INVALID", "the token's typ must be at+jwt or JWT")
        key = await self._jwks.key(str(header.get("kid", "")))
        if key is None:
            raise unauthenticated("TOKEN_KEY_UNKNOWN", "the token is signed with a key the issuer does not publish")
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except BadSignatureError:
            raise unauthenticated("TOKEN_SIGNATURE_INVALID", "the token's signature does not verify") from None
        except (JoseError, ValueError):
            raise unauthenticated("TOKEN_MALFORMED", "the access token cannot be decoded") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        if claims.get("iss") != self._issuer:
            raise unauthenticated("ISSUER_MISMATCH", "the token was issued by another issuer")
        aud = claims.get("aud")
        if aud != self._audience and aud != [self._audience]:
            raise unauthenticated("AUDIENCE_MISMATCH", f"the token's audience must be exactly {self._audience}")
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int | float):
            raise unauthenticated("TOKEN_MALFORMED", "the token has no expiry")
        if now > exp + LEEWAY_SECONDS:
            raise unauthenticated("TOKEN_EXPIRED", "the access token has expired")
        if isinstance(nbf, int | float) and nbf > now + LEEWAY_SECONDS:
            raise unauthenticated("TOKEN_NOT_YET_VALID", "the access token is not valid yet")
        if not claims.get("client_id"):
            raise unauthenticated("TOKEN_MALFORMED", "the token names no client")
        if "cnf" in claims:
            # DPoP-bound tokens need proof-of-possession checks; until they exist, refuse.
            raise unauthenticated("DPOP_NOT_SUPPORTED", "DPoP-bound tokens are not accepted yet")


def bearer_token(metadata: dict[str, str]) -> str:
    value = metadata.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if not value:
        raise unauthenticated("TOKEN_MISSING", "no access token: send 'authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("TOKEN_MALFORMED", "the authorization metadata must be 'Bearer <token>'")
    return token.strip()

