"""DPoP (RFC 9449) at the token endpoint: server nonces and the key a token gets bound to.

Proofs are checked by the platform's one verifier (services.platform.dpop). The STS always
asks for a nonce (§8): a proof without the current one gets `use_dpop_nonce` and the nonce in
a `DPoP-Nonce` header. Nonces change every few minutes; the previous one is still accepted,
so a client that fetched one just before the change is not bounced twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence

from joserfc import jws
from joserfc.errors import JoseError

from services.platform.dpop import DpopError, DpopVerifier
from services.platform.error_reasons import Reason

from .errors import InvalidDpopProofError, UseDpopNonceError, error_description

NONCE_PERIOD_SECONDS = 300


class DpopNonces:
    """Nonces derived from a per-process secret and the time window: nothing to store."""

    def __init__(
        self, secret: bytes | None = None, clock: Callable[[], float] = time.time, period: int = NONCE_PERIOD_SECONDS
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        self._period = period

    def current(self) -> str:
        return self._nonce(self._window())

    def accepted(self) -> tuple[str, str]:
        window = self._window()
        return self._nonce(window), self._nonce(window - 1)

    def _window(self) -> int:
        return int(self._clock() // self._period)

    def _nonce(self, window: int) -> str:
        digest = hmac.new(self._secret, window.to_bytes(8, "big", signed=True), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()


def proof_key_thumbprint(
    proofs: Sequence[str], *, verifier: DpopVerifier, nonces: DpopNonces, token_endpoint: str
) -> str | None:
    """The thumbprint (`cnf.jkt`) of the key of the request's DPoP proof; None without a proof."""
    if not proofs:
        return None
    if len(proofs) > 1:
        raise InvalidDpopProofError(description="Send exactly one DPoP header.")
    proof = proofs[0]
    accepted = nonces.accepted()
    # verify() compares the nonce with one expected value; pick the accepted one the proof
    # names, if any, so both the current and the previous nonce pass.
    claimed = _claimed_nonce(proof)
    expected = claimed if claimed in accepted else accepted[0]
    try:
        return verifier.verify(proof, htm="POST", htu=token_endpoint, nonce=expected)
    except DpopError as exc:
        if exc.reason == Reason.DPOP_NONCE_REQUIRED:
            raise UseDpopNonceError(description="Authorization server requires nonce in DPoP proof.") from None
        raise InvalidDpopProofError(description=error_description(str(exc))) from None


def _claimed_nonce(proof: str) -> str | None:
    """The proof's unverified nonce claim, only to choose what verify() expects."""
    try:
        claims = json.loads(jws.extract_compact(proof.encode()).payload)
    except (JoseError, ValueError, UnicodeError):
        return None
    nonce = claims.get("nonce") if isinstance(claims, dict) else None
    return nonce if isinstance(nonce, str) else None
