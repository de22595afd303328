"""The issuer key cache (gateway/jwks.py): discovery, refresh on unknown kid (rate-limited),
refresh with age, fail closed. The issuer is an httpx.MockTransport; the clock is manual."""

from __future__ import annotations

import grpc
import httpx
import pytest
from joserfc.jwk import ECKey, OctKey, RSAKey

from gateway.jwks import MAX_AGE, MISSING_KEYS_RETRY_INTERVAL, REFRESH_INTERVAL, STALE_LIMIT, JwksCache, usable_keys
from services.platform.errors import ServiceError

ISSUER = "https://helseid-sts.test.nhn.no"
JWKS_URI = ISSUER + "/jwks"


def public(kid: str, curve: str = "P-256") -> dict:
    return ECKey.generate_key(curve, parameters={"kid": kid, "use": "sig"}).as_dict(private=False)


class Issuer:
    """Serves discovery and a JWK set that tests change; counts JWKS fetches."""

    def __init__(self, *keys: dict) -> None:
        self.keys = list(keys)
        self.discovery = {"issuer": ISSUER, "jwks_uri": JWKS_URI}
        self.fetches = 0
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery)
        if str(request.url) == JWKS_URI:
            self.fetches += 1
            return httpx.Response(200, json={"keys": self.keys})
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def cache(issuer: Issuer, clock: Clock) -> JwksCache:
    return JwksCache(ISSUER, httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle)), clock=clock)


async def unavailable(coro) -> None:
    with pytest.raises(ServiceError) as err:
        await coro
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.UNAVAILABLE, "ISSUER_KEYS_UNAVAILABLE")


async def test_keys_are_discovered_and_cached(clock):
    issuer = Issuer(public("k1"))
    keys = cache(issuer, clock)
    assert (await keys.key("k1")).kid == "k1"
    assert (await keys.key("k1")).kid == "k1"
    assert issuer.fetches == 1


async def test_an_unknown_kid_refreshes_at_most_once_per_interval(clock):
    issuer = Issuer(public("k1"))
    keys = cache(issuer, clock)
    await keys.key("k1")
    issuer.keys.append(public("k2"))
    clock.now += 1
    assert await keys.key("forged-1") is None
    assert await keys.key("forged-2") is None
    assert await keys.key("k2") is None  # the rotation is seen only after the interval
    assert issuer.fetches == 1
    clock.now += REFRESH_INTERVAL
    assert (await keys.key("k2")).kid == "k2"
    assert issuer.fetches == 2


async def test_a_withdrawn_key_stops_verifying_after_max_age(clock):
    issuer = Issuer(public("k1"), public("k2"))
    keys = cache(issuer, clock)
    await keys.key("k1")
    issuer.keys = [issuer.keys[1]]
    clock.now += MAX_AGE + 1
    assert await keys.key("k1") is None


async def test_an_unreachable_issuer_fails_closed_and_is_not_hammered(clock):
    issuer = Issuer(public("k1"))
    issuer.down = True
    keys = cache(issuer, clock)
    await unavailable(keys.key("k1"))
    issuer.down = False
    await unavailable(keys.key("k1"))  # within the interval: no new attempt
    assert issuer.fetches == 0
    clock.now += REFRESH_INTERVAL
    assert (await keys.key("k1")).kid == "k1"


async def test_a_replica_whose_first_fetch_failed_asks_again_within_a_second(clock):
    """A gateway replica that never got the keys (its first fetch failed: the issuer was slow
    just after a start) refuses every token, so it does not wait the unknown-kid interval once
    the issuer answers again (its web pages showed error pages meanwhile)."""
    issuer = Issuer(public("k1"))
    issuer.down = True
    keys = cache(issuer, clock)
    await unavailable(keys.key("k1"))
    issuer.down = False
    await unavailable(keys.key("k1"))  # at once: still no new attempt (the issuer is not hammered)
    clock.now += MISSING_KEYS_RETRY_INTERVAL
    assert (await keys.key("k1")).kid == "k1"
    assert issuer.fetches == 1
    assert MISSING_KEYS_RETRY_INTERVAL < REFRESH_INTERVAL


async def test_a_key_set_with_no_usable_key_is_asked_again_within_a_second(clock):
    """An issuer that answered a set with no usable key (e.g. mid-rotation) leaves the replica
    refusing every token: like a failed fetch, it asks again after the short interval."""
    issuer = Issuer(public("k1"))
    issuer.keys = [{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]  # not a public signature key
    keys = cache(issuer, clock)
    assert await keys.key("k1") is None
    issuer.keys = [public("k1")]
    assert await keys.key("k1") is None  # at once: no new attempt
    clock.now += MISSING_KEYS_RETRY_INTERVAL
    assert (await keys.key("k1")).kid == "k1"
    assert issuer.fetches == 2


async def test_while_keys_are_held_an_unknown_kid_still_waits_the_full_interval(clock):
    issuer = Issuer(public("k1"))
    keys = cache(issuer, clock)
    await keys.key("k1")
    for _ in range(3):
        clock.now += MISSING_KEYS_RETRY_INTERVAL
        assert await keys.key("forged") is None
    assert issuer.fetches == 1  # holding keys: no attempt before REFRESH_INTERVAL


async def test_last_keys_serve_during_an_outage_until_the_stale_limit(clock):
    issuer = Issuer(public("k1"))
    keys = cache(issuer, clock)
    await keys.key("k1")
    issuer.down = True
    clock.now += MAX_AGE + 1
    assert (await keys.key("k1")).kid == "k1"
    clock.now += STALE_LIMIT
    await unavailable(keys.key("k1"))


@pytest.mark.parametrize(
    "discovery",
    [
        {"issuer": "https://evil.example", "jwks_uri": JWKS_URI},
        {"issuer": ISSUER + "/", "jwks_uri": JWKS_URI},
        {"issuer": ISSUER, "jwks_uri": "http://helseid-sts.test.nhn.no/jwks"},
        {"issuer": ISSUER},
        ["not", "an", "object"],
    ],
)
async def test_discovery_must_name_our_issuer_and_an_https_jwks(clock, discovery):
    issuer = Issuer(public("k1"))
    issuer.discovery = discovery
    await unavailable(cache(issuer, clock).key("k1"))


async def test_a_document_that_is_not_a_jwk_set_fails_closed(clock):
    issuer = Issuer()
    issuer.keys = "nope"  # served as {"keys": "nope"}
    await unavailable(cache(issuer, clock).key("k1"))


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_only_public_asymmetric_signature_keys_with_a_kid_are_used():
    good_ec, good_rsa = public("ec"), RSAKey.generate_key(2048, parameters={"kid": "rsa"}).as_dict(private=False)
    private = ECKey.generate_key("P-256", parameters={"kid": "private"}).as_dict(private=True)
    keys = usable_keys(
        {
            "keys": [
                good_ec,
                good_rsa,
                private,
                OctKey.generate_key(256, parameters={"kid": "oct"}).as_dict(),
                {**public("enc"), "use": "enc"},
                {k: v for k, v in public("x").items() if k != "kid"},
                RSAKey.generate_key(1024, parameters={"kid": "weak"}).as_dict(private=False),
                {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
                {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                "not a key",
            ]
        }
    )
    assert set(keys) == {"ec", "rsa", "private"}
    assert not keys["private"].is_private
