"""The public keys that verify consent receipts, published without a token like any JWKS.

GetReceiptKeys is not in the policy table (the Enforcer admits only authenticated callers,
and public keys need no consent decision or audit event): the gateway asks the consent
service as itself, like its own internal calls, and keeps the answer briefly so that an
anonymous caller cannot drive load onto the consent service."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from samhandling.consent.v1 import consent_pb2
from services.platform import telemetry
from services.platform.assertion import Assertion
from services.platform.error_reasons import Reason

from ..audit_client import GATEWAY_ACTOR
from ..backend_channels import BackendChannels
from .errors import internal
from .routes import GET_RECEIPT_KEYS

log = logging.getLogger(__name__)

KEEP_SECONDS = 60.0
# JWK members of private or symmetric keys (RFC 7518 section 6): never published.
_SECRET_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class ReceiptKeys:
    def __init__(self, backends: BackendChannels, clock: Callable[[], float] = time.monotonic) -> None:
        self._backends = backends
        self._clock = clock
        self._kept: tuple[float, dict[str, Any]] | None = None

    async def jwks(self) -> dict[str, Any]:
        now = self._clock()
        if self._kept is not None and now < self._kept[0]:
            return self._kept[1]
        assertion = Assertion(method=GET_RECEIPT_KEYS, actor=GATEWAY_ACTOR, trace_id=telemetry.current_trace_id())
        try:
            answer = await self._backends.call(
                "consent", assertion, consent_pb2.GetReceiptKeysRequest(), consent_pb2.GetReceiptKeysResponse
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("receipt keys unavailable", extra={"code": exc.code().name})
            raise Reason.CONSENT_UNAVAILABLE.error("the consent service cannot answer now") from None
        jwks = public_jwks(answer.jwks_json)
        self._kept = (now + KEEP_SECONDS, jwks)
        return jwks


def public_jwks(text: str) -> dict[str, Any]:
    """The JWK Set, refused (INTERNAL) unless it is one and holds public keys only."""
    try:
        jwks = json.loads(text)
    except ValueError:
        jwks = None
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) and "kty" in k for k in keys):
        log.error("the consent service's receipt keys are not a JWK Set")
        raise internal()
    if any(_SECRET_MEMBERS & k.keys() for k in keys):
        log.error("the consent service offered secret key material as receipt keys; not published")
        raise internal()
    return jwks
