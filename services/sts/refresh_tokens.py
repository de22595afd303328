"""Refresh tokens: opaque, rotated on every use, a reused one refused and its family revoked.

A family is every refresh token descending from one login. Reuse of a spent token means two
parties hold it, so the whole family is revoked (RFC 9700 §4.14.2).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from .client_registry import RegisteredClient
from .people import Person
from .trust_framework import Attestation

# A login lasts a working shift; refreshing never extends it.
SESSION_LIFETIME_SECONDS = 8 * 60 * 60


@dataclass
class RefreshGrant:
    client_id: str
    scope: str
    person: Person
    attestation: Attestation | None
    jkt: str | None  # the DPoP key the family is bound to, if any
    family: str
    expires_at: float
    spent: bool = False

    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client: RegisteredClient) -> bool:
        return client.client_id == self.client_id


class RefreshTokens:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._grants: dict[str, RefreshGrant] = {}
        self._clock = clock

    @staticmethod
    def new_family() -> str:
        return secrets.token_hex(16)

    def issue(self, grant: RefreshGrant) -> str:
        now = self._clock()
        self._grants = {k: g for k, g in self._grants.items() if g.expires_at > now}
        token = secrets.token_urlsafe(32)
        self._grants[_key(token)] = grant
        return token

    def find(self, token: str) -> RefreshGrant | None:
        grant = self._grants.get(_key(token))
        if grant is None or grant.expires_at <= self._clock():
            return None
        if grant.spent:
            self.revoke_family(grant.family)
            return None
        return grant

    def spend(self, grant: RefreshGrant) -> None:
        grant.spent = True

    def revoke_family(self, family: str) -> None:
        self._grants = {k: g for k, g in self._grants.items() if g.family != family}


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
