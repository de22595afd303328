"""DPoP proofs: every rule of RFC 9449 the verifier enforces."""
from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from services.platform.dpop import DpopError, DpopVerifier, grpc_target, make_proof

HTU = grpc_target("https://gw.example/", "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary")
NOW = 1_800_000_000
TOKEN = "header.payload.signature"


@pytest.fixture
def key():
    return ECKey.generate_key("P-256")


def verifier():
    return DpopVerifier(clock=lambda: NOW)


def test_a_good_proof_gives_the_key_thumbprint(key):
    proof = make_proof(key, "POST", HTU, access_token=TOKEN, now=NOW)
    assert verifier().verify(proof, htm="POST", htu=HTU, access_token=TOKEN) == key.thumbprint()
    assert HTU == "https://gw.example/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"


@pytest.mark.parametrize(
    ("proof_args", "verify_args", "reason"),
    [
        ({"htm": "GET"}, {}, "DPOP_HTM_MISMATCH"),
        ({"htu": "https://other.example/x"}, {}, "DPOP_HTU_MISMATCH"),
        ({"now": NOW - 61}, {}, "DPOP_IAT_OUT_OF_WINDOW"),
        ({"now": NOW + 6}, {}, "DPOP_IAT_OUT_OF_WINDOW"),
        ({"access_token": "another.token.value"}, {}, "DPOP_ATH_MISMATCH"),
        ({}, {"nonce": "server-nonce"}, "DPOP_NONCE_REQUIRED"),
    ],
)
def test_claims_must_match_the_request(key, proof_args, verify_args, reason):
    args = {"htm": "POST", "htu": HTU, "access_token": TOKEN, "now": NOW, **proof_args}
    proof = make_proof(key, args.pop("htm"), args.pop("htu"), **args)
    with pytest.raises(DpopError) as err:
        verifier().verify(proof, htm="POST", htu=HTU, access_token=TOKEN, **verify_args)
    assert err.value.reason == reason


def test_a_proof_is_accepted_once(key):
    check = verifier()
    proof = make_proof(key, "POST", HTU, access_token=TOKEN, now=NOW)
    check.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)
    with pytest.raises(DpopError) as err:
        check.verify(proof, htm="POST", htu=HTU, access_token=TOKEN)
    assert err.value.reason == "DPOP_REPLAYED"


def test_check_leaves_single_use_to_the_caller_and_names_what_to_claim(key):
    proof = make_proof(key, "POST", HTU, access_token=TOKEN, now=NOW - 10)
    first = verifier().check(proof, htm="POST", htu=HTU, access_token=TOKEN)
    again = verifier().check(proof, htm="POST", htu=HTU, access_token=TOKEN)
    assert first == again and first.thumbprint == key.thumbprint()
    # Claimed under target and jti until the last moment any clock within the window accepts it.
    assert first.replay_key.startswith(HTU + "|") and first.expires_at == NOW - 10 + 60 + 5


def test_a_proof_carrying_its_private_key_is_refused(key):
    import json

    from joserfc import jws

    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=True)}
    claims = {"jti": "j", "htm": "POST", "htu": HTU, "iat": NOW}
    proof = jws.serialize_compact(header, json.dumps(claims), key, algorithms=["ES256"])
    with pytest.raises(DpopError) as err:
        verifier().verify(proof, htm="POST", htu=HTU)
    assert err.value.reason == "DPOP_KEY_PRIVATE"


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(key):
    import json

    from joserfc import jws

    other = ECKey.generate_key("P-256")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    claims = {"jti": "j", "htm": "POST", "htu": HTU, "iat": NOW}
    proof = jws.serialize_compact(header, json.dumps(claims), other, algorithms=["ES256"])
    with pytest.raises(DpopError) as err:
        verifier().verify(proof, htm="POST", htu=HTU)
    assert err.value.reason == "DPOP_SIGNATURE_INVALID"


@pytest.mark.parametrize("garbage", ["", "a.b", "not a jws at all", "x" * 5000])
def test_garbage_is_refused(garbage):
    with pytest.raises(DpopError) as err:
        verifier().verify(garbage, htm="POST", htu=HTU)
    assert err.value.reason == "DPOP_PROOF_INVALID"


def _proof_with_iat(key, iat) -> str:
    """A correctly signed proof whose iat is whatever the test says (make_proof writes an int)."""
    import json
    import uuid

    from joserfc import jws

    claims = {"jti": uuid.uuid4().hex, "htm": "POST", "htu": HTU, "iat": iat}
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["ES256"])


@pytest.mark.parametrize(
    "iat",
    [float("nan"), float("inf"), "1800000000", NOW + 0.5, True, 10**30, None],
    ids=["NaN", "Infinity", "string", "fraction", "true", "huge", "absent"],
)
def test_iat_must_be_a_whole_finite_numeric_date(key, iat):
    with pytest.raises(DpopError) as err:
        verifier().verify(_proof_with_iat(key, iat), htm="POST", htu=HTU)
    assert err.value.reason == "DPOP_PROOF_INVALID"
    assert "iat" in str(err.value)
