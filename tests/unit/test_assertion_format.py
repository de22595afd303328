"""The internal assertion's fixed format (services/platform/assertion.py): an ES256 JWS in
compact form with one constant header, read without a general JWT library. Whatever is not
exactly that format is ASSERTION_INVALID, and an assertion refused for its form or contents is
refused before its `jti` is claimed."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, RSAKey

from samhandling.common.v1 import common_pb2
from services.platform.assertion import (
    ISSUER,
    LIFETIME_SECONDS,
    MAX_ASSERTION_BYTES,
    TYPE,
    Assertion,
    AssertionSigner,
    AssertionVerifier,
    audience_of,
    request_binding,
)
from services.platform.errors import ServiceError
from services.platform.replay import InProcessClaims
from services.platform.settings import SettingsError
from tests.fixtures import people

NOW = 1_800_000_000
METHOD = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_PERSONNEL, client_id="demo-legevakt", hpr_number="565505933")
BOUND = request_binding(b"\n\x0b22750884907")


class CountingClaims(InProcessClaims):
    """In-process claims that count how often they were asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def claim(self, key: str, expires_at: float) -> bool:
        self.asked += 1
        return await super().claim(key, expires_at)


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "gw-format"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": audience_of("summary"),
        "iat": NOW,
        "exp": NOW + LIFETIME_SECONDS,
        "jti": "j-1",
        "mth": METHOD,
        "act": _b64(ACTOR.SerializeToString()),
        "pat": people.ESKIL,
        "cat": [1, 2],
        "pou": 1,
        "did": "d-1",
        "tid": "",
        "req": BOUND,
        **changes,
    }
    return {name: value for name, value in claims.items() if value is not None}


def _joserfc(key: ECKey, header: dict[str, object] | None = None, **changes: object) -> str:
    """A JWS signed by joserfc, not by our signer: the format is standard, not private."""
    header = header or {"alg": "ES256", "typ": TYPE, "kid": key.kid}
    return jws.serialize_compact(header, json.dumps(_claims(**changes)), key, algorithms=["ES256"])


async def _verify(key: ECKey, token: str, claims: CountingClaims | None = None):
    verifier = AssertionVerifier(key, "summary", claims or CountingClaims(), clock=lambda: NOW)
    return await verifier.verify(token, METHOD, BOUND)


async def _refused(key: ECKey, token: str) -> str:
    claims = CountingClaims()
    with pytest.raises(ServiceError) as err:
        await _verify(key, token, claims)
    assert claims.asked == 0, "a malformed assertion must not use up a jti"
    assert err.value.code.name == "UNAUTHENTICATED"
    return err.value.reason


def test_the_header_is_one_constant_and_the_actor_travels_as_its_protobuf_bytes(key):
    token = AssertionSigner(key, clock=lambda: NOW).sign(Assertion(METHOD, ACTOR, jti="j-9"), "summary", request=BOUND)
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "ES256", "typ": TYPE, "kid": "gw-format"}
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (
        common_pb2.Actor.FromString(base64.urlsafe_b64decode(claims["act"] + "=" * (-len(claims["act"]) % 4))) == ACTOR
    )
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) == 64  # r || s, RFC 7518 3.4
    # Any JOSE library reads it: it is a standard ES256 JWS.
    assert json.loads(jws.deserialize_compact(token, key, algorithms=["ES256"]).payload)["jti"] == "j-9"


async def test_an_assertion_signed_by_another_jose_library_verifies(key):
    verified = await _verify(key, _joserfc(key))
    assert (verified.actor, verified.patient_id, verified.data_categories, verified.purpose_of_use) == (
        ACTOR,
        people.ESKIL,
        (1, 2),
        1,
    )
    # A verifier whose public key file has no kid still accepts the signer's header.
    public = ECKey.import_key({k: v for k, v in key.as_dict(private=False).items() if k != "kid"})
    assert (await _verify(public, _joserfc(key, jti="j-2"))).jti == "j-2"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ES384", "typ": TYPE},
        {"alg": "none", "typ": TYPE},
        {"alg": "ES256", "typ": "JWT"},
        {"alg": "ES256"},
        {"alg": "ES256", "typ": TYPE, "kid": "gw-format", "jku": "https://attacker.example/jwks"},
        {"alg": "ES256", "typ": TYPE, "kid": 7},
    ],
    ids=["other-alg", "alg-none", "other-typ", "no-typ", "extra-member", "kid-not-a-string"],
)
async def test_any_other_header_is_refused(key, header):
    token = _signed_with_header(key, header)
    assert await _refused(key, token) == "ASSERTION_INVALID"


def _signed_with_header(key: ECKey, header: dict[str, object]) -> str:
    """`header` over good claims, with a correct ES256 signature by the gateway's key of exactly
    these bytes (what joserfc would refuse to write)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims()).encode())}"
    der = key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".x",  # four segments
        lambda t: t.rsplit(".", 1)[0],  # no signature
        lambda t: t.replace(".", ".=", 1),  # padding is not base64url without padding
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # another signature
        lambda t: t[: t.rindex(".")] + ".AAAA",  # a signature of the wrong length
        lambda t: t[: t.rindex(".")] + ".A",  # a signature that is no base64 at all
        lambda t: t + "A" * MAX_ASSERTION_BYTES,  # longer than any real one
    ],
    ids=["four-segments", "no-signature", "padded", "other-signature", "short-signature", "bad-base64", "too-long"],
)
async def test_a_malformed_or_tampered_token_is_refused(key, mangle):
    token = AssertionSigner(key, clock=lambda: NOW).sign(Assertion(METHOD, ACTOR), "summary", request=BOUND)
    assert await _refused(key, mangle(token)) == "ASSERTION_INVALID"


async def test_a_payload_changed_after_signing_is_refused(key):
    header, _, signature = _joserfc(key).split(".")
    other = _b64(json.dumps(_claims(pat="13116900216")).encode())
    assert await _refused(key, f"{header}.{other}.{signature}") == "ASSERTION_INVALID"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"iss": None},
        {"aud": [audience_of("summary")]},
        {"aud": audience_of("audit")},
        {"jti": None},
        {"jti": ""},
        {"jti": 7},
        {"iat": NOW + 6, "exp": NOW + 30},
        {"nbf": NOW + 6},
        {"act": {"client_id": "demo-ehr"}},
        {"act": "!!!"},
        {"cat": "1"},
        {"cat": [1, "2"]},
        {"pou": "1"},
        {"pat": 22750884907},
        {"did": None, "tid": 5},
    ],
    ids=[
        "other-issuer",
        "no-issuer",
        "audience-list",
        "other-audience",
        "no-jti",
        "empty-jti",
        "jti-number",
        "issued-in-the-future",
        "not-yet-valid",
        "actor-as-json",
        "actor-not-protobuf",
        "categories-string",
        "category-string",
        "purpose-string",
        "patient-number",
        "trace-number",
    ],
)
async def test_claims_of_the_wrong_value_or_type_are_refused_before_the_claim(key, changes):
    assert await _refused(key, _joserfc(key, **changes)) == "ASSERTION_INVALID"


@pytest.mark.parametrize(
    "other",
    [OKPKey.generate_key("Ed25519"), RSAKey.generate_key(2048), ECKey.generate_key("P-384")],
    ids=["Ed25519", "RSA", "P-384"],
)
def test_only_a_p256_key_signs_or_verifies_assertions(other):
    with pytest.raises(SettingsError):
        AssertionSigner(other)
    with pytest.raises(SettingsError):
        AssertionVerifier(other, "summary", InProcessClaims())


def test_a_public_key_alone_cannot_sign(key):
    with pytest.raises(SettingsError):
        AssertionSigner(ECKey.import_key(key.as_dict(private=False)))
