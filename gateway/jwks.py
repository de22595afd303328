"""The issuer's signing keys, found through OIDC discovery, cached, and refreshed when a
token names an unknown `kid` (at most once per REFRESH_INTERVAL, so forged kids cannot
make the gateway hammer the issuer)."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
from joserfc.jwk import KeySet

from services.platform.errors import unavailable

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 10.0


class JwksCache:
    def __init__(self, issuer: str, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._issuer = issuer.rstrip("/")
        self._http = http
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str):
        """The public key with this kid, or None if the issuer does not publish it."""
        if kid not in self._keys:
            await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            if self._fetched_at is not None and self._clock() - self._fetched_at < REFRESH_INTERVAL:
                return
            try:
                discovery = await self._http.get(f"{self._issuer}/.well-known/openid-configuration")
                discovery.raise_for_status()
                jwks = await self._http.get(discovery.json()["jwks_uri"])
                jwks.raise_for_status()
                key_set = KeySet.import_key_set(jwks.json())
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning("issuer keys unavailable", extra={"error": exc.__class__.__name__})
                raise unavailable("ISSUER_KEYS_UNAVAILABLE", "the token issuer's keys cannot be fetched") from None
            self._keys = {k.kid: k for k in key_set.keys if k.kid}
            self._fetched_at = self._clock()
