"""The gateway verifies each access token once per process (gateway/tokens.py): a bounded cache
keyed by the token's SHA-256, checked against the clock and the issuer's current key on every
call. Tokens minted with the test's own keys, as in test_gateway_tokens.py."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from joserfc import jws
from joserfc.jwk import JWKRegistry

from gateway import tokens
from gateway.tokens import LEEWAY_SECONDS, TokenValidator
from services.platform.errors import ServiceError, unavailable
from tests.fixtures.tokens import AUDIENCE, EC_KEY, ISSUER, NOW, PUBLISHED, claims, mint


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Jwks:
    """The issuer's published keys as the JWKS cache holds them; `rotate` withdraws or replaces one."""

    def __init__(self) -> None:
        self.keys = dict(PUBLISHED)
        self.unavailable = False

    async def key(self, kid: str):
        if self.unavailable:
            raise unavailable("ISSUER_KEYS_UNAVAILABLE", "the token issuer's keys cannot be fetched")
        return self.keys.get(kid)


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """Every signature verification the validator makes."""
    made: list[str] = []
    real = jws.deserialize_compact

    def counted(token, key, algorithms=None):
        made.append(token)
        return real(token, key, algorithms=algorithms)

    monkeypatch.setattr(tokens.jws, "deserialize_compact", counted)
    return made


def validator(clock: Clock, jwks: Jwks) -> TokenValidator:
    return TokenValidator(jwks, ISSUER, AUDIENCE, clock=clock)  # type: ignore[arg-type]


async def refused(validator: TokenValidator, token: str) -> str:
    with pytest.raises(ServiceError) as err:
        await validator.validate(token)
    assert err.value.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE)
    return err.value.reason


async def test_a_token_is_verified_once_and_its_claims_given_every_time(verifications):
    checker = validator(Clock(), Jwks())
    token = mint()
    first = await checker.validate(token)
    first["client_id"] = "changed by a caller"  # a copy: the cached claims stay as verified
    for _ in range(3):
        assert (await checker.validate(token))["client_id"] == "demo-ehr"
    assert verifications == [token]


async def test_the_cache_is_keyed_by_the_tokens_hash_never_the_token(verifications):
    checker = validator(Clock(), Jwks())
    token = mint()
    await checker.validate(token)
    assert list(checker._verified) == [hashlib.sha256(token.encode()).digest()]


async def test_expiry_is_checked_on_every_call_and_drops_the_entry(verifications):
    clock = Clock()
    checker = validator(clock, Jwks())
    token = mint(claims(exp=NOW + 60))
    await checker.validate(token)
    clock.now = NOW + 60 + LEEWAY_SECONDS  # still within the leeway
    await checker.validate(token)
    clock.now += 1
    assert await refused(checker, token) == "TOKEN_EXPIRED"
    assert checker.cached_verifications() == 0
    assert await refused(checker, token) == "TOKEN_EXPIRED"


async def test_a_clock_stepped_back_before_nbf_refuses_a_cached_token(verifications):
    clock = Clock()
    checker = validator(clock, Jwks())
    token = mint(claims(nbf=NOW))
    await checker.validate(token)
    clock.now = NOW - LEEWAY_SECONDS - 1
    assert await refused(checker, token) == "TOKEN_NOT_YET_VALID"


async def test_a_key_rotated_out_ends_its_cached_verifications(verifications):
    jwks = Jwks()
    checker = validator(Clock(), jwks)
    token = mint()
    await checker.validate(token)
    del jwks.keys[EC_KEY.kid]  # the issuer no longer publishes the key (the JWKS was refreshed without it)
    assert await refused(checker, token) == "TOKEN_KEY_UNKNOWN"
    assert checker.cached_verifications() == 0


async def test_a_refreshed_key_set_verifies_the_signature_again(verifications):
    jwks = Jwks()
    checker = validator(Clock(), jwks)
    token = mint()
    await checker.validate(token)
    jwks.keys[EC_KEY.kid] = JWKRegistry.import_key(EC_KEY.as_dict(private=False))  # the same key, fetched again
    await checker.validate(token)
    await checker.validate(token)
    assert verifications == [token, token]


async def test_a_cached_token_is_refused_once_the_issuers_keys_are_too_stale(verifications):
    jwks = Jwks()
    checker = validator(Clock(), jwks)
    token = mint()
    await checker.validate(token)
    jwks.unavailable = True
    assert await refused(checker, token) == "ISSUER_KEYS_UNAVAILABLE"


async def test_a_refused_token_is_not_remembered_and_refused_every_time(verifications):
    checker = validator(Clock(), Jwks())
    forged = mint()[:-4] + "AAAA"
    for _ in range(2):
        assert await refused(checker, forged) == "TOKEN_SIGNATURE_INVALID"
    assert checker.cached_verifications() == 0
    assert len(verifications) == 2


async def test_the_cache_is_bounded_dropping_the_expired_then_the_soonest_to_expire(monkeypatch, verifications):
    monkeypatch.setattr(tokens, "MAX_VERIFIED_TOKENS", 3)
    clock = Clock()
    checker = validator(clock, Jwks())
    minted = {exp: mint(claims(exp=NOW + exp, jti=f"j-{exp}")) for exp in (300, 100, 200, 400)}
    for exp in (300, 100, 200):
        await checker.validate(minted[exp])
    await checker.validate(minted[400])  # full: the one expiring first (exp 100) goes
    assert checker.cached_verifications() == 3
    verifications.clear()
    for exp in (300, 200, 400):
        await checker.validate(minted[exp])
    assert verifications == []
    await checker.validate(minted[100])  # verified again
    assert verifications == [minted[100]]
    clock.now = NOW + 250 + LEEWAY_SECONDS  # 100 and 200 have expired: dropped at the next insert
    await checker.validate(mint(claims(iat=NOW + 240, nbf=NOW + 240, exp=NOW + 500, jti="j-new")))
    assert checker.cached_verifications() == 3  # 300, 400 and the new one
