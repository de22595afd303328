"""Access-token validation (gateway/tokens.py): every rule of docs/architecture.md "The request path", step 1, one reason each.
Tokens are minted here with keys of the test's own; the JWKS is a stub."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import grpc
import pytest
from joserfc.jwk import ECKey, RSAKey

from gateway.tokens import DEFAULT_MAX_LIFETIME_SECONDS, LEEWAY_SECONDS, MAX_TOKEN_BYTES, TokenValidator
from services.platform.errors import ServiceError
from tests.fixtures.tokens import AUDIENCE, ISSUER, NOW, PUBLISHED, RSA_KEY, claims, mint


class StubJwks:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def key(self, kid: str):
        self.asked.append(kid)
        return PUBLISHED.get(kid)


def unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    return ".".join(_b64(part) for part in (json.dumps(header).encode(), json.dumps(payload).encode(), signature))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def validator(now: float = NOW, jwks: StubJwks | None = None) -> TokenValidator:
    return TokenValidator(jwks or StubJwks(), ISSUER, AUDIENCE, clock=lambda: now)


async def refused(token: str, now: float = NOW) -> str:
    with pytest.raises(ServiceError) as err:
        await validator(now).validate(token)
    assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    return err.value.reason


async def test_a_good_token_gives_its_claims():
    assert (await validator().validate(mint()))["client_id"] == "demo-ehr"


@pytest.mark.parametrize("alg", ["PS256", "RS256", "RS512"])
async def test_rsa_algorithms_verify_with_an_rsa_key(alg):
    assert (await validator().validate(mint(key=RSA_KEY, alg=alg)))["sub"] == "demo-ehr"


@pytest.mark.parametrize("typ", ["at+jwt", "JWT", "application/at+jwt", "AT+JWT"])
async def test_access_token_types_are_accepted(typ):
    assert await validator().validate(mint(typ=typ))


@pytest.mark.parametrize("typ", [None, "dpop+jwt", "JOSE", "id_token"])
async def test_other_types_are_refused(typ):
    assert await refused(mint(typ=typ)) == "TOKEN_TYPE_INVALID"
    assert await refused(unsigned({"alg": "ES256", "typ": 1, "kid": "ec-1"}, claims())) == "TOKEN_TYPE_INVALID"


async def test_alg_none_is_refused():
    token = unsigned({"alg": "none", "typ": "at+jwt", "kid": "ec-1"}, claims())
    assert await refused(token) == "TOKEN_ALGORITHM_NOT_ALLOWED"


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_hmac_signed_with_the_issuers_public_key_is_refused(alg):
    # The classic confusion attack: the public key, known to everyone, used as an HMAC secret.
    secret = json.dumps(RSA_KEY.as_dict(private=False)).encode()
    header = {"alg": alg, "typ": "at+jwt", "kid": "rsa-1"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims()).encode())}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    token = f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), digest).digest())}"
    assert await refused(token) == "TOKEN_ALGORITHM_NOT_ALLOWED"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256K", ["ES256"]])
async def test_unlisted_algorithms_are_refused(alg):
    assert await refused(unsigned({"alg": alg, "typ": "at+jwt", "kid": "ec-1"}, claims())) == (
        "TOKEN_ALGORITHM_NOT_ALLOWED"
    )


async def test_an_algorithm_that_does_not_fit_the_published_key_is_refused():
    # Signed with an RSA key but naming the EC key's kid, and ES384 against a P-256 key.
    rsa_as_ec = mint(key=RSAKey.generate_key(2048, parameters={"kid": "ec-1"}), alg="RS256")
    assert await refused(rsa_as_ec) == "TOKEN_ALGORITHM_NOT_ALLOWED"
    p384 = ECKey.generate_key("P-384", parameters={"kid": "ec-1"})
    assert await refused(mint(key=p384, alg="ES384")) == "TOKEN_ALGORITHM_NOT_ALLOWED"


async def test_unknown_and_missing_kid_are_refused_and_a_missing_kid_asks_no_issuer():
    assert await refused(mint(kid="rotated-away")) == "TOKEN_KEY_UNKNOWN"
    jwks = StubJwks()
    with pytest.raises(ServiceError) as err:
        await validator(jwks=jwks).validate(mint(kid=None))
    assert err.value.reason == "TOKEN_KEY_UNKNOWN" and jwks.asked == []


async def test_a_signature_by_another_key_is_refused():
    impostor = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    assert await refused(mint(key=impostor)) == "TOKEN_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "ø.ø.ø", "eyJhbGciOiJFUzI1NiJ9", "W10.e30.c2ln", "bm90IGpzb24.e30.c2ln"],
)
async def test_garbage_is_malformed(token):
    assert await refused(token) == "TOKEN_MALFORMED"


@pytest.mark.parametrize("payload", ["[1, 2]", "not json", '"a string"'])
async def test_a_signed_payload_that_is_not_an_object_is_malformed(payload):
    assert await refused(mint(payload)) == "TOKEN_MALFORMED"


async def test_an_oversized_token_is_refused_before_parsing():
    assert await refused("e" * (MAX_TOKEN_BYTES + 1)) == "TOKEN_TOO_LARGE"


async def test_unknown_critical_header_extensions_are_refused():
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "ec-1", "crit": ["x-must-know"], "x-must-know": 1}
    assert await refused(unsigned(header, claims(), b"sig")) == "TOKEN_MALFORMED"


async def test_the_issuer_must_match_exactly():
    assert await refused(mint(claims(iss=ISSUER + "/"))) == "ISSUER_MISMATCH"
    assert await refused(mint(claims(iss="http://127.0.0.1:8090"))) == "ISSUER_MISMATCH"


async def test_exactly_one_audience():
    assert await validator().validate(mint(claims(aud=[AUDIENCE])))
    assert await refused(mint(claims(aud=[AUDIENCE, "nhn:kjernejournal"]))) == "AUDIENCE_MISMATCH"
    assert await refused(mint(claims(aud="nhn:kjernejournal"))) == "AUDIENCE_MISMATCH"
    assert await refused(mint(claims(aud=None))) == "AUDIENCE_MISMATCH"
    assert await refused(mint(claims(aud=[]))) == "AUDIENCE_MISMATCH"


async def test_expiry_has_a_few_seconds_of_leeway():
    exp = NOW + 600
    assert await validator(now=exp + LEEWAY_SECONDS).validate(mint())
    assert await refused(mint(), now=exp + LEEWAY_SECONDS + 1) == "TOKEN_EXPIRED"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_before_and_issued_at_have_a_few_seconds_of_leeway(claim):
    assert await validator().validate(mint(claims(**{claim: NOW + LEEWAY_SECONDS})))
    assert await refused(mint(claims(**{claim: NOW + LEEWAY_SECONDS + 1}))) == "TOKEN_NOT_YET_VALID"


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": None},
        {"exp": "soon"},
        {"exp": True},
        {"iat": None},
        {"nbf": "now"},
        {"sub": None},
        {"client_id": None},
        {"client_id": ""},
        {"jti": None},
        {"iss": None},
        {"client_id": 7},
        {"scope": ["nhn:samhandling/summary.read"]},
        {"cnf": {"x5t#S256": "abc"}},
        {"cnf": "jkt"},
        {"cnf": {"jkt": ""}},
    ],
)
async def test_missing_or_misshapen_standard_claims_are_malformed(changes):
    assert await refused(mint(claims(**changes))) == "TOKEN_MALFORMED"


NAN, INFINITY = float("nan"), float("inf")


@pytest.mark.parametrize(
    "changes",
    [
        # NaN once disabled the not-yet-valid check: max(NaN, nbf) is NaN, and NaN > now is false.
        pytest.param({"iat": NAN, "nbf": NOW + 3000}, id="iat-NaN-hides-a-future-nbf"),
        pytest.param({"iat": NAN}, id="iat-NaN"),
        pytest.param({"nbf": NAN}, id="nbf-NaN"),
        pytest.param({"exp": NAN}, id="exp-NaN"),
        pytest.param({"exp": INFINITY}, id="exp-Infinity"),
        pytest.param({"iat": -INFINITY}, id="iat-minus-Infinity"),
        pytest.param({"iat": "1"}, id="iat-string"),
        pytest.param({"iat": float(NOW - 10) + 0.5}, id="iat-fraction"),
        pytest.param({"iat": True}, id="iat-true"),
        pytest.param({"nbf": False}, id="nbf-false"),
        pytest.param({"exp": 10**30}, id="exp-beyond-year-9999"),
        pytest.param({"iat": -1}, id="iat-before-the-epoch"),
    ],
)
async def test_time_claims_must_be_whole_finite_numeric_dates(changes):
    assert await refused(mint(claims(**changes))) == "TOKEN_MALFORMED"


async def test_a_whole_number_written_as_a_float_is_a_numeric_date():
    assert await validator().validate(mint(claims(iat=float(NOW - 10), exp=float(NOW + 600))))


@pytest.mark.parametrize(
    ("changes", "cap"),
    [
        pytest.param({"iat": NOW - 10, "exp": NOW + 3591}, 3600, id="exp-iat-one-second-over-the-default"),
        pytest.param({"iat": NOW - 10, "exp": NOW + 10**9}, 3600, id="huge-exp"),
        pytest.param({"iat": NOW - 10, "exp": NOW + 600}, 300, id="over-a-configured-cap"),
    ],
)
async def test_a_token_valid_for_longer_than_the_cap_is_refused(changes, cap):
    token = mint(claims(**changes))
    with pytest.raises(ServiceError) as err:
        await TokenValidator(StubJwks(), ISSUER, AUDIENCE, clock=lambda: NOW, max_lifetime_seconds=cap).validate(token)
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_LIFETIME_TOO_LONG")
    assert f"{cap} s" in err.value.message


async def test_a_token_valid_for_exactly_the_cap_is_accepted():
    assert DEFAULT_MAX_LIFETIME_SECONDS == 3600
    assert await validator().validate(mint(claims(iat=NOW - 10, exp=NOW - 10 + 3600)))


async def test_a_dpop_confirmation_is_passed_on_for_the_binding_check():
    validated = await validator().validate(mint(claims(cnf={"jkt": "thumb"})))
    assert validated["cnf"] == {"jkt": "thumb"}
