"""Platform pieces every process relies on: log redaction, replay cache, internal assertions."""
from __future__ import annotations

import json
import logging

import pytest
from joserfc.jwk import ECKey

from samhandling.common.v1 import common_pb2
from services.platform.assertion import Assertion, AssertionSigner, AssertionVerifier
from services.platform.errors import ServiceError
from services.platform.logs import JsonFormatter, redact
from services.platform.replay import ReplayCache

METHOD = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-ehr", orgnr_parent="910000012")


def test_redact_masks_person_numbers_and_jwts_but_not_other_numbers():
    text = "pid 22750884907 token eyJhbGciOi.eyJzdWIiOiJ4In0.c2lnbmF0dXJl org 910000012 port 50050"
    assert redact(text) == "pid <pid> token <jwt> org 910000012 port 50050"


def test_json_log_lines_never_carry_person_numbers_even_in_extra_fields():
    record = logging.makeLogRecord(
        {"msg": "read %s", "args": ("22750884907",), "levelno": logging.INFO, "levelname": "INFO",
         "patient": "16758532406"}
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


def _pair(now: float = 1_800_000_000):
    key = ECKey.generate_key("P-256", parameters={"kid": "gw"})
    public = ECKey.import_key(key.as_dict(private=False))
    return AssertionSigner(key, clock=lambda: now), public


def test_an_assertion_verifies_once_for_its_backend_and_method():
    signer, public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR, patient_id="22750884907", data_categories=(1,)), "summary")
    verifier = AssertionVerifier(public, "summary", clock=lambda: 1_800_000_000)
    verified = verifier.verify(token, METHOD)
    assert (verified.patient_id, verified.data_categories, verified.actor) == ("22750884907", (1,), ACTOR)
    with pytest.raises(ServiceError) as err:
        verifier.verify(token, METHOD)
    assert err.value.reason == "ASSERTION_REPLAYED"


@pytest.mark.parametrize(
    ("component", "method", "clock_offset", "reason"),
    [
        ("capacity", METHOD, 0, "ASSERTION_INVALID"),  # issued for another backend
        ("summary", "/samhandling.summary.v1.PatientSummaryService/Other", 0, "ASSERTION_RETARGETED"),
        ("summary", METHOD, 60, "ASSERTION_INVALID"),  # expired (30 s lifetime, 5 s leeway)
    ],
)
def test_assertions_are_bound_to_backend_method_and_time(component, method, clock_offset, reason):
    signer, public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR), "summary")
    verifier = AssertionVerifier(public, component, clock=lambda: 1_800_000_000 + clock_offset)
    with pytest.raises(ServiceError) as err:
        verifier.verify(token, method)
    assert err.value.reason == reason


def test_an_assertion_signed_by_another_key_is_refused():
    signer, _ = _pair()
    _, other_public = _pair()
    token = signer.sign(Assertion(method=METHOD, actor=ACTOR), "summary")
    with pytest.raises(ServiceError) as err:
        AssertionVerifier(other_public, "summary", clock=lambda: 1_800_000_000).verify(token, METHOD)
    assert err.value.reason == "ASSERTION_INVALID"
