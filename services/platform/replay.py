"""A bounded single-use cache for token ids (jti) until they expire."""
from __future__ import annotations

import time
from collections.abc import Callable


class ReplayCache:
    """Remembers ids until their expiry; `claim` succeeds once per id.

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
