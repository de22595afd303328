"""Authorization codes: single use, 60 s, bound to client, redirect_uri and PKCE challenge."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from .people import Person
from .trust_framework import Attestation

CODE_LIFETIME_SECONDS = 60
# A redeemed code is remembered a while longer, so a second use is recognised as reuse.
REUSE_MEMORY_SECONDS = 600


@dataclass
class AuthorizationCode:
    """What the person's login granted; Authlib reads `get_redirect_uri`, `get_scope` and the
    `code_challenge*` fields."""

    client_id: str
    redirect_uri: str
    scope: str
    person: Person
    code_challenge: str
    code_challenge_method: str
    attestation: Attestation | None
    expires_at: float
    # OpenID Connect: the authorization request's nonce, and when the person logged in.
    nonce: str | None = None
    auth_time: int = 0
    # Set when redeemed: the refresh-token family it started, revoked if the code is reused.
    redeemed_family: str | None = None
    redeemed: bool = False

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class AuthorizationCodes:
    """In memory: the development STS forgets its codes on restart, which only logs people out."""

    def __init__(self, on_reuse: Callable[[str], None], clock: Callable[[], float] = time.time) -> None:
        self._codes: dict[str, AuthorizationCode] = {}
        self._on_reuse = on_reuse
        self._clock = clock

    def save(self, code: str, record: AuthorizationCode) -> None:
        now = self._clock()
        self._codes = {k: v for k, v in self._codes.items() if v.expires_at + REUSE_MEMORY_SECONDS > now}
        self._codes[_key(code)] = record

    def find(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code if it is live and was issued to this client. A second use of a redeemed code
        also revokes the tokens the first use obtained (RFC 6749 §4.1.2)."""
        record = self._codes.get(_key(code))
        if record is None or record.client_id != client_id:
            return None
        if record.redeemed:
            if record.redeemed_family is not None:
                self._on_reuse(record.redeemed_family)
            return None
        return record if self._clock() < record.expires_at else None

    def redeem(self, record: AuthorizationCode, family: str | None) -> None:
        record.redeemed = True
        record.redeemed_family = family


def new_code_expiry(now: float) -> float:
    return now + CODE_LIFETIME_SECONDS


def _key(code: str) -> str:
    # Only hashes are kept, so a memory dump holds no redeemable code.
    return hashlib.sha256(code.encode()).hexdigest()
