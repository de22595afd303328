"""The one NumericDate rule (services/platform/numeric_date.py) and the internal assertions that
use it; the gateway's access tokens, DPoP proofs and the STS's client assertions are tested with
their own (test_gateway_tokens.py, test_dpop.py, integration/test_sts.py)."""

from __future__ import annotations

import json

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from samhandling.common.v1 import common_pb2
from services.platform.assertion import (
    ISSUER,
    LIFETIME_SECONDS,
    Assertion,
    AssertionSigner,
    AssertionVerifier,
    audience_of,
    request_binding,
)
from services.platform.errors import ServiceError
from services.platform.numeric_date import (
    MAX_NUMERIC_DATE,
    LifetimeTooLong,
    NumericDateError,
    numeric_date,
    token_times,
)
from services.platform.replay import InProcessClaims

NOW = 1_800_000_000
METHOD = "/samhandling.capacity.v1.CapacityService/ListAlerts"
BODY = b""


@pytest.mark.parametrize("value", [0, NOW, MAX_NUMERIC_DATE, float(NOW)])
def test_whole_numbers_in_range_are_numeric_dates(value):
    assert numeric_date({"iat": value}, "iat") == int(value)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -float("inf"), "1", NOW + 0.5, True, False, [NOW], -1, MAX_NUMERIC_DATE + 1],
    ids=["NaN", "Infinity", "-Infinity", "string", "fraction", "true", "false", "list", "negative", "after-9999"],
)
def test_anything_else_is_refused_and_named(value):
    with pytest.raises(NumericDateError, match="'iat'"):
        numeric_date({"iat": value}, "iat")


def test_absent_is_refused_only_when_required():
    assert numeric_date({}, "nbf", required=False) is None
    with pytest.raises(NumericDateError, match="'exp' is required"):
        numeric_date({}, "exp")


def test_lifetime_is_exp_minus_iat_or_exp_minus_now_without_iat():
    assert token_times({"iat": NOW, "exp": NOW + 60}, max_lifetime=60, now=NOW + 30) == (NOW, None, NOW + 60)
    with pytest.raises(LifetimeTooLong):
        token_times({"iat": NOW, "exp": NOW + 61}, max_lifetime=60, now=NOW)
    with pytest.raises(LifetimeTooLong):
        token_times({"exp": NOW + 61}, max_lifetime=60, now=NOW, iat_required=False)


# -- internal assertions ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "gw-test"})


def _assertion(key: ECKey, **times: object) -> str:
    """A correctly signed assertion for METHOD whose time claims are whatever the test says."""
    claims = {
        "iss": ISSUER,
        "aud": audience_of("capacity"),
        "iat": NOW,
        "exp": NOW + LIFETIME_SECONDS,
        "jti": "j-1",
        "mth": METHOD,
        "act": "",
        "req": request_binding(BODY),
        **times,
    }
    header = {"alg": "ES256", "typ": "samhandling-assertion+jwt", "kid": key.kid}
    return jws.serialize_compact(
        header, json.dumps({k: v for k, v in claims.items() if v is not None}), key, algorithms=["ES256"]
    )


async def _verify(key: ECKey, token: str):
    return await AssertionVerifier(key, "capacity", InProcessClaims(), clock=lambda: NOW).verify(
        token, METHOD, request_binding(BODY)
    )


async def test_a_signed_assertion_verifies(key):
    signed = AssertionSigner(key, clock=lambda: NOW).sign(
        Assertion(METHOD, common_pb2.Actor(client_id="demo-ehr")), "capacity", request=request_binding(BODY)
    )
    assert (await _verify(key, signed)).actor.client_id == "demo-ehr"
    assert (await _verify(key, _assertion(key))).method == METHOD


@pytest.mark.parametrize(
    "times",
    [
        {"iat": float("nan")},
        {"exp": float("nan")},
        {"nbf": float("nan")},
        {"exp": float("inf")},
        {"iat": "1"},
        {"exp": NOW + 1.5},
        {"iat": True},
        {"exp": 10**30},
        {"exp": NOW + LIFETIME_SECONDS + 1},
    ],
    ids=[
        "iat-NaN",
        "exp-NaN",
        "nbf-NaN",
        "exp-Infinity",
        "iat-string",
        "exp-fraction",
        "iat-true",
        "exp-huge",
        "lifetime-over-30s",
    ],
)
async def test_assertion_times_must_be_numeric_dates_within_its_lifetime(key, times):
    with pytest.raises(ServiceError) as err:
        await _verify(key, _assertion(key, **times))
    assert err.value.reason == "ASSERTION_INVALID"
