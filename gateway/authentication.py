"""Turning the metadata of one gRPC call into a Principal (docs/architecture.md "The request path", step 1).

Metadata read here:
- `authorization`: `Bearer <token>` or `DPoP <token>` (scheme case-insensitive, one value);
- `dpop`: the DPoP proof (RFC 9449), bound to this call: `htm` POST, `htu` the gateway's
  public URL + "/" + the full method name (services.platform.dpop.grpc_target);
- `x-samhandling-justification`: free text for emergency access, UTF-8 percent-encoded
  (gRPC metadata is ASCII), checked by the enforcer.

Binding rules: a token with `cnf.jkt` is usable only as `DPoP` with a proof by that key; a
`DPoP` scheme needs a bound token; a client registered as DPoP-bound may never use Bearer.
A proof is used once across every gateway replica: its `jti` is claimed in the replay store
the replicas share (services.platform.replay_store), last, once everything else holds (so only
a proof signed by the key of a valid token costs a database write). A store that cannot answer
refuses the call (UNAVAILABLE REPLAY_STORE_UNAVAILABLE), never accepts it.
Every refusal is logged to `gateway.security` (never the token or the proof).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote

import grpc

from services.platform.dpop import DpopError, DpopVerifier, grpc_target, replayed
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError
from services.platform.replay import ReplayClaims, ReplayStoreUnavailable, replay_store_unavailable

from .calls import IncomingCall, Metadata
from .principal import Principal, principal_from_claims
from .tokens import MAX_TOKEN_BYTES, TokenValidator

AUTHORIZATION = "authorization"
DPOP = "dpop"
JUSTIFICATION = "x-samhandling-justification"
# Room for the scheme and spaces around a token of the largest accepted size.
MAX_AUTHORIZATION_BYTES = MAX_TOKEN_BYTES + 32

security_log = logging.getLogger("gateway.security")


class Authenticator:
    def __init__(
        self,
        tokens: TokenValidator,
        dpop: DpopVerifier,
        *,
        replay: ReplayClaims,
        public_url: str,
        dpop_bound_clients: Collection[str],
        allow_synthetic: bool,
    ) -> None:
        self._tokens = tokens
        self._dpop = dpop
        self._replay = replay
        self._public_url = public_url
        self._dpop_bound_clients = frozenset(dpop_bound_clients)
        self._allow_synthetic = allow_synthetic

    async def authenticate(self, call: IncomingCall) -> Principal:
        """The caller, or ServiceError (UNAUTHENTICATED / PERMISSION_DENIED)."""
        client_id = ""
        try:
            scheme, token = _credentials(call.metadata)
            claims = await self._tokens.validate(token)
            client_id = claims["client_id"]
            await self._check_binding(call, scheme, token, claims)
            return principal_from_claims(
                claims, allow_synthetic=self._allow_synthetic, justification=_justification(call.metadata)
            )
        except ServiceError as err:
            log_refusal(err, call.method, client_id, call.peer)
            raise

    async def _check_binding(self, call: IncomingCall, scheme: str, token: str, claims: dict[str, Any]) -> None:
        metadata = call.metadata
        jkt = (claims.get("cnf") or {}).get("jkt")
        if not jkt:
            if scheme == "dpop":
                raise Reason.DPOP_TOKEN_NOT_BOUND.error("the DPoP scheme needs a DPoP-bound token (cnf.jkt)")
            if claims["client_id"] in self._dpop_bound_clients:
                raise Reason.DPOP_REQUIRED.error("this client must use DPoP-bound tokens")
            return
        if scheme != "dpop":
            raise Reason.DPOP_BOUND_TOKEN_AS_BEARER.error("a DPoP-bound token must be sent as 'DPoP <token>'")
        proofs = _values(metadata, DPOP)
        if not proofs:
            raise Reason.DPOP_PROOF_MISSING.error("a DPoP-bound token needs a proof in the 'dpop' metadata")
        if len(proofs) > 1 or not isinstance(proofs[0], str):
            raise Reason.DPOP_PROOF_INVALID.error("send exactly one DPoP proof")
        htu = call.htu or grpc_target(self._public_url, call.method)
        try:
            proof = self._dpop.check(proofs[0], htm=call.htm, htu=htu, access_token=token)
        except DpopError as err:
            raise err.reason.error(str(err)) from None
        if not hmac.compare_digest(proof.thumbprint.encode(), jkt.encode()):
            raise Reason.DPOP_KEY_MISMATCH.error("the DPoP proof is signed by another key than the token is bound to")
        try:
            first_use = await self._replay.claim(proof.replay_key, proof.expires_at)
        except ReplayStoreUnavailable:
            raise replay_store_unavailable() from None
        if not first_use:
            raise Reason.DPOP_REPLAYED.error(str(replayed()))


def log_refusal(err: ServiceError, method: str, client_id: str, peer: str) -> None:
    """One security event per refused call: what and why, never credentials."""
    if err.code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return
    security_log.warning(
        "call refused",
        extra={"reason": err.reason, "code": err.code.name, "method": method, "client_id": client_id, "peer": peer},
    )


def _credentials(metadata: Metadata) -> tuple[str, str]:
    """(scheme in lower case, token) from the single `authorization` value."""
    values = _values(metadata, AUTHORIZATION)
    if not values or values == [""]:
        raise Reason.TOKEN_MISSING.error("no access token: send 'authorization: Bearer <token>'")
    if len(values) > 1 or not isinstance(values[0], str):
        raise Reason.TOKEN_MALFORMED.error("send exactly one authorization value")
    if len(values[0]) > MAX_AUTHORIZATION_BYTES:
        raise Reason.TOKEN_TOO_LARGE.error(f"the access token exceeds {MAX_TOKEN_BYTES} bytes")
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in ("bearer", "dpop") or not token or " " in token:
        raise Reason.TOKEN_MALFORMED.error("the authorization metadata must be 'Bearer <token>' or 'DPoP <token>'")
    return scheme.lower(), token


def _justification(metadata: Metadata) -> str:
    values = _values(metadata, JUSTIFICATION)
    if len(values) != 1 or not isinstance(values[0], str):
        return ""
    return unquote(values[0], errors="replace").strip()


def _values(metadata: Metadata, key: str) -> list[str | bytes]:
    return [value for name, value in metadata if name == key]
