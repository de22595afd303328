"""The issuer's signing keys, found through OIDC discovery and cached.

A token naming an unknown `kid` triggers a refresh (a rotation has happened), but at most one
attempt per REFRESH_INTERVAL, so forged kids cannot make the gateway hammer the issuer. A
replica that holds no usable key at all (its first fetch failed, e.g. the issuer was slow
just after a start, the keys passed STALE_LIMIT, or the issuer's set held no usable key) refuses every token until it has one, so it
asks again after MISSING_KEYS_RETRY_INTERVAL instead: one failed attempt must not make it refuse
everything for REFRESH_INTERVAL after the issuer is back. Keys
are also refreshed after MAX_AGE, so a key the issuer withdraws stops verifying soon; if the
issuer cannot be reached then, the last keys serve until STALE_LIMIT, after which every token
is refused as unverifiable (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from services.platform.error_reasons import Reason

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 10.0
MISSING_KEYS_RETRY_INTERVAL = 1.0  # at most one attempt a second while no usable keys are held
MAX_AGE = 300.0
STALE_LIMIT = 3600.0
MIN_RSA_BITS = 2048

Key = ECKey | RSAKey


class JwksCache:
    def __init__(self, issuer: str, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._issuer = issuer
        self._http = http
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Key | None:
        """The public key with this kid, or None if the issuer does not publish it.
        Raises UNAVAILABLE ISSUER_KEYS_UNAVAILABLE when no trustworthy key set is at hand."""
        if kid not in self._keys or self._older_than(MAX_AGE):
            await self._refresh()
        return self._keys.get(kid)

    def _older_than(self, seconds: float) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > seconds

    def _holds_no_keys(self) -> bool:
        """Every token is refused: nothing fetched yet, the keys are past STALE_LIMIT, or the
        issuer's last answer held no usable key (e.g. published mid-rotation)."""
        return not self._keys or self._older_than(STALE_LIMIT)

    async def _refresh(self) -> None:
        async with self._lock:
            now = self._clock()
            interval = MISSING_KEYS_RETRY_INTERVAL if self._holds_no_keys() else REFRESH_INTERVAL
            recently_tried = self._attempted_at is not None and now - self._attempted_at < interval
            if not recently_tried:
                self._attempted_at = now
                try:
                    self._keys = usable_keys(await self._fetch())
                    self._fetched_at = now
                    return
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    log.warning("issuer keys unavailable", extra={"error": exc.__class__.__name__})
            if self._older_than(STALE_LIMIT):
                raise Reason.ISSUER_KEYS_UNAVAILABLE.error("the token issuer's keys cannot be fetched")

    async def _fetch(self) -> Any:
        discovery = await self._http.get(f"{self._issuer.rstrip('/')}/.well-known/openid-configuration")
        discovery.raise_for_status()
        document = discovery.json()
        # OIDC Discovery §4.3: the document must name exactly the issuer we trust.
        if not isinstance(document, dict) or document.get("issuer") != self._issuer:
            raise ValueError("discovery names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or (
            self._issuer.startswith("https://") and not jwks_uri.startswith("https://")
        ):
            raise ValueError("discovery names no usable jwks_uri")
        jwks = await self._http.get(jwks_uri)
        jwks.raise_for_status()
        return jwks.json()


def usable_keys(jwks: Any) -> dict[str, Key]:
    """Public signature keys by kid. Keys of other types or uses, without kid, too weak, or
    that cannot be read are skipped one by one, so one odd key cannot hide the others."""
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str, Key] = {}
    for data in jwks["keys"]:
        if not isinstance(data, Mapping) or data.get("kty") not in ("RSA", "EC") or data.get("use", "sig") != "sig":
            continue
        kid = data.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            key = JWKRegistry.import_key(dict(data))
            key = JWKRegistry.import_key(key.as_dict(private=False))
        except (JoseError, ValueError, TypeError):
            continue
        if not isinstance(key, RSAKey | ECKey):  # kty is RSA or EC (checked above)
            continue
        if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
            continue
        keys[kid] = key
    return keys
