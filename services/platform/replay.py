"""Single use of token ids (`jti`): in one process, and across every replica of a component.

`ReplayCache` remembers ids in this process only; it serves the development STS, which runs
as one process. Every credential a replicated component accepts (the gateway's DPoP proofs,
a backend's internal assertions) is claimed in a `ReplayStore` instead: a table in the
component's database, shared by all its replicas, so a proof used at one replica is a replay
at every other (RFC 9449 section 11.1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from services.platform.error_reasons import Reason

from .errors import ServiceError


class ReplayStoreUnavailable(Exception):
    """The claim could not be decided (database down, locked, too slow); callers refuse the
    credential: an undecided claim is never a first use."""


def replay_store_unavailable() -> ServiceError:
    """The refusal when a claim cannot be decided: UNAVAILABLE, so the caller may retry with a
    fresh credential."""
    return Reason.REPLAY_STORE_UNAVAILABLE.error(
        "single use of the credential cannot be checked now; nothing was served"
    )


class ReplayClaims(Protocol):
    """Where a component records the ids it has accepted."""

    async def claim(self, key: str, expires_at: float) -> bool:
        """True exactly once per key before `expires_at` (seconds since the epoch), whichever
        replica asks; False for every later claim. Raises ReplayStoreUnavailable when it
        cannot tell."""
        ...


class ReplayCache:
    """Remembers ids until their expiry; `claim` succeeds once per id, in this process.

    Memory is bounded by `max_entries`: expired ids are swept when the cache fills, and if it
    is still full the new id is refused (fail closed rather than forget a live id).
    """

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._seen: dict[str, float] = {}
        self._max = max_entries
        self._clock = clock

    def claim(self, key: str, expires_at: float) -> bool:
        now = self._clock()
        if key in self._seen and self._seen[key] > now:
            return False
        if len(self._seen) >= self._max:
            self._seen = {k: e for k, e in self._seen.items() if e > now}
            if len(self._seen) >= self._max:
                return False
        self._seen[key] = expires_at
        return True


class InProcessClaims:
    """`ReplayClaims` over a `ReplayCache`: one process only, for pure unit tests."""

    def __init__(self, cache: ReplayCache | None = None) -> None:
        self._cache = cache or ReplayCache()

    async def claim(self, key: str, expires_at: float) -> bool:
        return self._cache.claim(key, expires_at)
