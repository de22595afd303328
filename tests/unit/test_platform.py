"""Platform pieces every process relies on: log redaction, replay cache, internal assertions
(bound to their request, single use through the replay claims), the gateway's database."""

from __future__ import annotations

import json
import logging

import pytest
from joserfc.jwk import ECKey

from samhandling.common.v1 import common_pb2
from services.platform.assertion import (
    STREAM_BINDING,
    Assertion,
    AssertionSigner,
    AssertionVerifier,
    request_binding,
)
from services.platform.errors import ServiceError
from services.platform.logs import JsonFormatter, redact
from services.platform.replay import InProcessClaims, ReplayCache, ReplayStoreUnavailable
from services.platform.settings import Settings, SettingsError
from tests.fixtures import people

METHOD = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012")


def test_redact_masks_person_numbers_and_jwts_but_not_other_numbers():
    text = "pid 22750884907 token eyJhbGciOi.eyJzdWIiOiJ4In0.c2lnbmF0dXJl org 910000012 port 50050"
    assert redact(text) == "pid <pid> token <jwt> org 910000012 port 50050"


def test_json_log_lines_never_carry_person_numbers_even_in_extra_fields():
    record = logging.makeLogRecord(
        {"msg": "read %s", "args": (people.ESKIL,), "levelno": logging.INFO, "levelname": "INFO", "patient": people.TOR}
    )
    line = JsonFormatter("gateway").format(record)
    entry = json.loads(line)
    assert entry["message"] == "read <pid>" and entry["patient"] == "<pid>" and entry["component"] == "gateway"


def test_replay_cache_accepts_an_id_once_until_it_expires():
    now = [1000.0]
    cache = ReplayCache(clock=lambda: now[0])
    assert cache.claim("a", expires_at=1010)
    assert not cache.claim("a", expires_at=1010)
    now[0] = 1011
    assert cache.claim("a", expires_at=1020)


def test_a_full_replay_cache_refuses_rather_than_forgets():
    now = [1000.0]
    cache = ReplayCache(max_entries=2, clock=lambda: now[0])
    assert cache.claim("a", 1010) and cache.claim("b", 1020)
    assert not cache.claim("c", 1030)
    now[0] = 1015  # "a" expired: room again
    assert cache.claim("c", 1030)


BODY = b"\n\x0b22750884907"  # the bytes of a request, as the gateway sent them
BOUND = request_binding(BODY)


class UnavailableClaims:
    async def claim(self, key: str, expires_at: float) -> bool:
        raise ReplayStoreUnavailable


def _pair(now: float = 1_800_000_000):
    key = ECKey.generate_key("P-256", parameters={"kid": "gw"})
    public = ECKey.import_key(key.as_dict(private=False))
    return AssertionSigner(key, clock=lambda: now), public


def _verifier(public, component="summary", clock_offset=0, replay=None) -> AssertionVerifier:
    return AssertionVerifier(public, component, replay or InProcessClaims(), clock=lambda: 1_800_000_000 + clock_offset)


async def test_an_assertion_verifies_once_for_its_backend_and_method():
    signer, public = _pair()
    token = signer.sign(
        Assertion(method=METHOD, actor=ACTOR, patient_id=people.ESKIL, data_categories=(1,)), "summary", request=BOUND
    )
    verifier = _verifier(public)
    verified = await verifier.verify(token, METHOD, BOUND)
    assert (verified.patient_id, verified.data_categories, verified.actor) == (people.ESKIL, (1,), ACTOR)
    with pytest.raises(ServiceError) as err:
        await verifier.verify(token, METHOD, BOUND)
    assert err.value.reason == "ASSERTION_REPLAYED"


@pytest.mark.parametrize(
    ("component", "method", "clock_offset", "reason"),
    [
        ("capacity", METHOD, 0, "ASSERTION_INVALID"),  # issued for another backend
        ("summary", "/samhandling.summary.v1.PatientSummaryService/Other", 0, "ASSERTION_RETARGETED"),
        ("summary", METHOD, 60, "ASSERTION_INVALID"),  # expired (30 s lifetime, 5 s leeway)
    ],
)
async def test_assertions_are_bound_to_backend_method_and_time(component, method, clock_offset, reason):
    signer, public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR), "summary", request=BOUND)
    with pytest.raises(ServiceError) as err:
        await _verifier(public, component, clock_offset).verify(token, method, BOUND)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("signed_for", "received"),
    [
        (BOUND, request_binding(BODY + b"\x10\x01")),  # another body
        (BOUND, STREAM_BINDING),  # a single-request assertion opening a request stream
        (STREAM_BINDING, BOUND),  # a stream's assertion carrying a single request
        (request_binding(b""), BOUND),  # the empty request's hash is not a wildcard
    ],
)
async def test_an_assertion_carries_only_the_request_it_was_signed_for(signed_for, received):
    signer, public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR), "summary", request=signed_for)
    verifier = _verifier(public)
    with pytest.raises(ServiceError) as err:
        await verifier.verify(token, METHOD, received)
    assert (err.value.code.name, err.value.reason) == ("UNAUTHENTICATED", "ASSERTION_REQUEST_MISMATCH")
    # The refusal did not use the assertion up: with its own request it is still accepted once.
    assert (await verifier.verify(token, METHOD, signed_for)).method == METHOD


async def test_an_assertion_is_refused_when_its_single_use_cannot_be_checked():
    signer, public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR), "summary", request=BOUND)
    with pytest.raises(ServiceError) as err:
        await _verifier(public, replay=UnavailableClaims()).verify(token, METHOD, BOUND)
    assert (err.value.code.name, err.value.reason) == ("UNAVAILABLE", "REPLAY_STORE_UNAVAILABLE")


async def test_an_assertion_signed_by_another_key_is_refused():
    signer, _ = _pair()
    _, other_public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR), "summary", request=BOUND)
    with pytest.raises(ServiceError) as err:
        await _verifier(other_public).verify(token, METHOD, BOUND)
    assert err.value.reason == "ASSERTION_INVALID"


def test_the_gateway_has_a_database_of_its_own_for_its_replay_claims():
    url = "postgresql+psycopg://gw@db/gateway"
    assert Settings.from_env({"SAMHANDLING_GATEWAY_DATABASE_URL": url}).database_url("gateway") == url
    default = Settings.from_env({"SAMHANDLING_VAR_DIR": "/srv/var"})
    assert default.database_url("gateway") == "sqlite:////srv/var/gateway.db"


def test_the_access_token_lifetime_cap_is_a_setting_that_always_caps():
    variable = "SAMHANDLING_ACCESS_TOKEN_MAX_LIFETIME_SECONDS"
    assert Settings.from_env({}).access_token_max_lifetime_seconds == 3600
    assert Settings.from_env({variable: "300"}).access_token_max_lifetime_seconds == 300
    for refused in ("none", "0", "-5", "inf", "nan", "an hour"):
        with pytest.raises(SettingsError, match=variable):
            Settings.from_env({variable: refused})
