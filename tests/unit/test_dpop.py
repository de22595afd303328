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


# RFC 9449 section 4.3: htu and the request URI are compared after syntax- and scheme-based
# normalisation (RFC 3986 sections 6.2.2, 6.2.3), ignoring query and fragment.
SERVER_URI = "https://gw.example/api/v1/patients/22750884907/access-log"


@pytest.mark.parametrize(
    "claimed",
    [
        "HTTPS://GW.EXAMPLE/api/v1/patients/22750884907/access-log",  # scheme and host case
        "https://gw.example:443/api/v1/patients/22750884907/access-log",  # the default port
        "https://gw.example/api/v1/patients/22750884907/access-log?page_size=5",  # query ignored
        "https://gw.example/api/v1/patients/22750884907/access-log#top",  # fragment ignored
        "https://gw.example/api/v1/patients/./22750884907/../22750884907/access-log",  # dot segments
        "https://gw.example/api/v1/patients/22750884907/%61ccess-log",  # an escaped unreserved character
    ],
)
def test_htu_names_the_target_in_any_equivalent_spelling(key, claimed):
    proof = make_proof(key, "GET", claimed, access_token=TOKEN, now=NOW)
    assert verifier().verify(proof, htm="GET", htu=SERVER_URI, access_token=TOKEN) == key.thumbprint()


@pytest.mark.parametrize(
    "server",
    [
        "HTTPS://gw.example:443/api/v1/patients/22750884907/access-log",  # the server's side is normalised too
        "https://gw.example/api/v1/patients/22750884907/access-log?page_size=5",
    ],
)
def test_the_request_uri_is_normalised_as_the_claim_is(key, server):
    proof = make_proof(key, "GET", SERVER_URI, access_token=TOKEN, now=NOW)
    assert verifier().verify(proof, htm="GET", htu=server, access_token=TOKEN) == key.thumbprint()


@pytest.mark.parametrize(
    "claimed",
    [
        "http://gw.example/api/v1/patients/22750884907/access-log",  # another scheme
        "https://gw.example:8443/api/v1/patients/22750884907/access-log",  # another port
        "https://gw.example/api/v1/patients/22750884907/Access-Log",  # paths are case-sensitive
        "https://gw.example/api/v1/patients/22750884907/access-log/",  # another path
        "https://gw.example/api/v1/patients/22750884907%2Faccess-log",  # an escaped "/" is no separator
        "https://someone@gw.example/api/v1/patients/22750884907/access-log",  # userinfo
        "wss://gw.example/api/v1/patients/22750884907/access-log",  # not http(s)
        "https://gw.example:99999/api/v1/patients/22750884907/access-log",  # no such port
        "/api/v1/patients/22750884907/access-log",  # not absolute
    ],
)
def test_htu_naming_another_target_is_refused(key, claimed):
    proof = make_proof(key, "GET", claimed, access_token=TOKEN, now=NOW)
    with pytest.raises(DpopError) as err:
        verifier().verify(proof, htm="GET", htu=SERVER_URI, access_token=TOKEN)
    assert err.value.reason == "DPOP_HTU_MISMATCH"


@pytest.mark.parametrize("claimed", ["get", "Get", " GET", ""])
def test_htm_is_the_method_exactly_as_methods_are_case_sensitive(key, claimed):
    proof = make_proof(key, claimed, SERVER_URI, access_token=TOKEN, now=NOW)
    with pytest.raises(DpopError) as err:
        verifier().verify(proof, htm="GET", htu=SERVER_URI, access_token=TOKEN)
    assert err.value.reason == "DPOP_HTM_MISMATCH"


def test_two_spellings_of_one_target_are_one_target_for_single_use(key):
    check = verifier()
    proof = make_proof(
        key, "GET", "HTTPS://GW.example:443/api/v1/patients/22750884907/access-log", access_token=TOKEN, now=NOW
    )
    check.verify(proof, htm="GET", htu=SERVER_URI, access_token=TOKEN)
    with pytest.raises(DpopError) as err:
        check.verify(
            proof, htm="GET", htu="https://gw.example:443/api/v1/patients/22750884907/access-log", access_token=TOKEN
        )
    assert err.value.reason == "DPOP_REPLAYED"
