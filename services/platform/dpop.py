"""DPoP proofs (RFC 9449), pure: making one, and verifying one for a request.

Used by the STS at its token endpoint (binding a token to a key: `cnf.jkt`), by the gateway
for every call with a DPoP-bound token, and by clients. For gRPC the method is always POST
and the target URI is the gateway's public base URL + "/" + the full method name without
its leading slash, e.g. https://gw.example/samhandling.summary.v1.PatientSummaryService/GetPatientSummary.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from services.platform.error_reasons import Reason

from .helseid import SIGNING_ALGORITHMS
from .numeric_date import NumericDateError, numeric_date
from .replay import ReplayCache

# RFC 9449 allows any asymmetric JWS algorithm; EdDSA too, for clients with Ed25519 keys.
ALGORITHMS = frozenset({*SIGNING_ALGORITHMS, "EdDSA"})
IAT_PAST_SECONDS = 60
IAT_FUTURE_SECONDS = 5
MAX_PROOF_BYTES = 4096
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT_ENCODED = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

Key = ECKey | RSAKey | OKPKey


class DpopError(Exception):
    """A proof is not acceptable; `reason` is the UPPER_SNAKE cause, mapped by each adapter
    (UNAUTHENTICATED at the gateway, `invalid_dpop_proof` at the STS)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def token_hash(access_token: str) -> str:
    """`ath`: base64url(SHA-256(access token)) without padding."""
    return _b64(hashlib.sha256(access_token.encode()).digest())


def grpc_target(base_url: str, method: str) -> str:
    """The `htu` of a gRPC call: base URL + "/" + full method name (without leading slash)."""
    return f"{base_url.rstrip('/')}/{method.lstrip('/')}"


def make_proof(
    key: Key,
    htm: str,
    htu: str,
    *,
    access_token: str | None = None,
    nonce: str | None = None,
    now: float | None = None,
) -> str:
    claims: dict[str, Any] = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(now or time.time())}
    if access_token is not None:
        claims["ath"] = token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    alg = {"EC": "ES256", "RSA": "PS256", "OKP": "EdDSA"}[key.key_type]
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims, separators=(",", ":")), key, algorithms=[alg])


@dataclass(frozen=True)
class CheckedProof:
    """A proof that passed every check but single use: the caller claims `replay_key` until
    `expires_at` (in this process, or in the component's shared replay store)."""

    thumbprint: str  # SHA-256 JWK thumbprint of the proof's key (compare with `cnf.jkt`)
    replay_key: str
    expires_at: float


class DpopVerifier:
    """Checks proofs. `check` is everything but single use; `verify` adds single use in this
    process (the development STS, one process). The gateway claims `CheckedProof.replay_key`
    in its replay store shared by every replica (services.platform.replay_store)."""

    def __init__(self, replay: ReplayCache | None = None, clock: Callable[[], float] = time.time) -> None:
        self._replay = replay or ReplayCache()
        self._clock = clock

    def verify(
        self, proof: str, *, htm: str, htu: str, access_token: str | None = None, nonce: str | None = None
    ) -> str:
        """Returns the SHA-256 JWK thumbprint of the proof's key (compare with `cnf.jkt`)."""
        checked = self.check(proof, htm=htm, htu=htu, access_token=access_token, nonce=nonce)
        if not self._replay.claim(checked.replay_key, checked.expires_at):
            raise replayed()
        return checked.thumbprint

    def check(
        self, proof: str, *, htm: str, htu: str, access_token: str | None = None, nonce: str | None = None
    ) -> CheckedProof:
        if len(proof) > MAX_PROOF_BYTES:
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof is too large")
        try:
            compact = jws.extract_compact(proof.encode())
        except (JoseError, ValueError, UnicodeError):
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof is not a compact JWS") from None
        header = compact.protected
        if header.get("typ") != "dpop+jwt":
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof's typ must be dpop+jwt")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof's algorithm is not allowed")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof carries no public key")
        if _PRIVATE_MEMBERS & jwk.keys():
            raise DpopError(Reason.DPOP_KEY_PRIVATE, "the DPoP proof's jwk carries private key material")
        try:
            key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
            jws.deserialize_compact(proof, key, algorithms=[alg])
            claims = json.loads(compact.payload)
        except (JoseError, ValueError, TypeError):
            raise DpopError(Reason.DPOP_SIGNATURE_INVALID, "the DPoP proof's signature does not verify") from None
        jti, iat = self._check_claims(claims, htm, htu, access_token, nonce)
        # The key names the target too (RFC 9449 section 11.1: jti "in the context of the target URI"),
        # normalised, so that two spellings of one URL are one target.
        target = normalised_target(htu) or htu
        return CheckedProof(key.thumbprint(), f"{target}|{jti}", iat + IAT_PAST_SECONDS + IAT_FUTURE_SECONDS)

    def _check_claims(
        self, claims: Any, htm: str, htu: str, access_token: str | None, nonce: str | None
    ) -> tuple[str, float]:
        """(jti, iat) of claims that name this request."""
        if not isinstance(claims, dict):
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof's payload is not an object")
        if not same_method(claims.get("htm"), htm):
            raise DpopError(Reason.DPOP_HTM_MISMATCH, f"the DPoP proof's htm must be {htm}")
        if not same_target(claims.get("htu"), htu):
            raise DpopError(Reason.DPOP_HTU_MISMATCH, "the DPoP proof's htu does not name this target")
        iat, now = _iat(claims), self._clock()
        if not now - IAT_PAST_SECONDS <= iat <= now + IAT_FUTURE_SECONDS:
            raise DpopError(Reason.DPOP_IAT_OUT_OF_WINDOW, "the DPoP proof is too old or from the future")
        if access_token is not None and claims.get("ath") != token_hash(access_token):
            raise DpopError(Reason.DPOP_ATH_MISMATCH, "the DPoP proof is not for this access token")
        if nonce is not None and claims.get("nonce") != nonce:
            raise DpopError(Reason.DPOP_NONCE_REQUIRED, "the DPoP proof must carry the server's current nonce")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise DpopError(Reason.DPOP_PROOF_INVALID, "the DPoP proof needs a jti")
        return jti, iat


def _iat(claims: dict[str, Any]) -> int:
    try:
        iat = numeric_date(claims, "iat")
    except NumericDateError as exc:
        raise DpopError(Reason.DPOP_PROOF_INVALID, f"the DPoP proof's iat: {exc}") from None
    assert iat is not None
    return iat


def same_method(claimed: object, method: str) -> bool:
    """`htm` against the request's method: exactly, as HTTP methods are case-sensitive (RFC 9110
    section 9.1: `get` is not GET)."""
    return isinstance(claimed, str) and claimed == method


def same_target(claimed: object, target: str) -> bool:
    """`htu` against the request's URI, both normalised (RFC 9449 section 4.3 step 9 and its note);
    a claim that is no http(s) URI names no target."""
    normalised = normalised_target(claimed) if isinstance(claimed, str) else None
    return normalised is not None and normalised == normalised_target(target)


def normalised_target(uri: str) -> str | None:
    """An http(s) URI in the form DPoP compares: query and fragment dropped (RFC 9449 section
    4.3), syntax-based normalisation (RFC 3986 section 6.2.2: scheme and host in lower case,
    percent-encodings in upper case and decoded where they encode an unreserved character,
    dot segments removed) and scheme-based normalisation (section 6.2.3: no default port, an
    empty path is "/"). None for anything else: another scheme, userinfo, no host, a bad port."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    authority = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        authority += f":{port}"
    path = _remove_dot_segments(_PERCENT_ENCODED.sub(_normalised_escape, parts.path)) or "/"
    return f"{scheme}://{authority}{path}"


def _normalised_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path ("/..." or empty), escapes already normalised."""
    if not path:
        return ""
    output: list[str] = []
    segments = path.split("/")[1:]
    for segment in segments:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    result = "/" + "/".join(output)
    return result + "/" if segments[-1] in {".", ".."} and not result.endswith("/") else result


def replayed() -> DpopError:
    return DpopError(Reason.DPOP_REPLAYED, "the DPoP proof was already used")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
