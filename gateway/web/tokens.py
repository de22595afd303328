"""The login's checks of what the issuer answered (OpenID Connect Core §3.1.3.7): the ID
token's signature (through the gateway's JWKS cache), iss, aud, exp, iat, nonce and at_hash;
and the access token itself, through the gateway's own validator, which must be bound to the
deployment's web DPoP key. Every failure is 401 WEB_LOGIN_FAILED (the detail in the message,
never a token)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from services.platform import helseid
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError

from ..jwks import JwksCache
from ..tokens import TokenValidator

ID_TOKEN_ALGORITHMS = frozenset({"RS256", "PS256", "ES256"})
LEEWAY_SECONDS = 60
MAX_ID_TOKEN_BYTES = 16 * 1024
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def login_failed(message: str) -> ServiceError:
    return Reason.WEB_LOGIN_FAILED.error(message)


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6: base64url of the left half of the hash the JWS algorithm uses."""
    digest = _HASHES[alg[-3:]](access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


@dataclass(frozen=True)
class LoggedIn:
    subject: str
    person_pid: str
    person_name: str
    scopes: frozenset[str]
    access_expires_at: int
    orgnr_parent: str | None = None  # the access token's organisation claims, when well formed
    orgnr_child: str | None = None


class LoginTokens:
    def __init__(
        self, jwks: JwksCache, access_tokens: TokenValidator, issuer: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._jwks = jwks
        self._access_tokens = access_tokens
        self._issuer = issuer
        self._clock = clock

    async def check(
        self, *, id_token: str | None, access_token: str, client_id: str, nonce: str, dpop_jkt: str
    ) -> LoggedIn:
        if not id_token:
            raise login_failed("the issuer answered without an ID token")
        alg, claims = await self._id_token_claims(id_token)
        if claims.get("iss") != self._issuer:
            raise login_failed("the ID token names another issuer")
        aud = claims.get("aud")
        if aud != client_id and aud != [client_id]:
            raise login_failed("the ID token is meant for another client")
        now = self._clock()
        exp, iat = claims.get("exp"), claims.get("iat")
        if (
            not isinstance(exp, int)
            or not isinstance(iat, int)
            or now > exp + LEEWAY_SECONDS
            or iat > now + LEEWAY_SECONDS
        ):
            raise login_failed("the ID token is expired or not yet valid")
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise login_failed("the ID token's nonce is not this login's")
        if not isinstance(claims.get("at_hash"), str) or not hmac.compare_digest(
            claims["at_hash"], at_hash(access_token, alg)
        ):
            raise login_failed("the ID token's at_hash does not match the access token")
        access = await self.access(access_token, dpop_jkt)
        if access.get("sub") != claims.get("sub") or not isinstance(claims.get("sub"), str):
            raise login_failed("the ID token and the access token name different subjects")
        pid = claims.get("pid") or access.get(helseid.PID)
        if not isinstance(pid, str) or not (pid.isdigit() and len(pid) == 11):
            raise login_failed("the login names no person number")
        name = claims.get("name")
        return LoggedIn(
            subject=claims["sub"],
            person_pid=pid,
            person_name=name if isinstance(name, str) else "",
            scopes=frozenset(str(access.get("scope", "")).split()),
            access_expires_at=int(access["exp"]),
            orgnr_parent=_orgnr(access.get(helseid.ORGNR_PARENT)),
            orgnr_child=_orgnr(access.get(helseid.ORGNR_CHILD)),
        )

    async def access(self, access_token: str, dpop_jkt: str) -> dict[str, Any]:
        """The access token's claims, by the gateway's own checks, bound to the web key."""
        try:
            access = await self._access_tokens.validate(access_token)
        except ServiceError as err:
            raise login_failed(f"the access token was refused: {err.reason}") from None
        cnf = access.get("cnf")
        if not isinstance(cnf, dict) or cnf.get("jkt") != dpop_jkt:
            raise login_failed("the access token is not bound to this deployment's web key")
        return access

    async def _id_token_claims(self, id_token: str) -> tuple[str, dict[str, Any]]:
        if len(id_token) > MAX_ID_TOKEN_BYTES:
            raise login_failed("the ID token is too large")
        try:
            header = jws.extract_compact(id_token.encode()).protected
        except (JoseError, ValueError, UnicodeError, TypeError):
            raise login_failed("the ID token is not a compact JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ID_TOKEN_ALGORITHMS or not isinstance(kid, str) or not kid:
            raise login_failed("the ID token's algorithm or key id is not acceptable")
        key = await self._jwks.key(kid)
        if key is None:
            raise login_failed("the ID token is signed with a key the issuer does not publish")
        try:
            payload = jws.deserialize_compact(id_token, key, algorithms=[alg]).payload
            claims = json.loads(payload)
        except (JoseError, ValueError, UnicodeError):
            raise login_failed("the ID token's signature does not verify") from None
        if not isinstance(claims, dict):
            raise login_failed("the ID token's payload is not a JSON object")
        return alg, claims


def _orgnr(claim: Any) -> str | None:
    """An organisation number claim: nine digits, else none (the gateway's own checks of the
    access token already refuse a malformed one)."""
    return claim if isinstance(claim, str) and len(claim) == 9 and claim.isdigit() else None
