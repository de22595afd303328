"""The public receipt keys: only a JWK Set of public keys is published, kept briefly."""

from __future__ import annotations

import json

import grpc
import pytest

from gateway.http.receipt_keys import KEEP_SECONDS, ReceiptKeys, public_jwks
from samhandling.common.v1 import common_pb2
from services.platform.errors import ServiceError

PUBLIC = {"kty": "EC", "crv": "P-256", "kid": "receipts-1", "x": "eA", "y": "eQ"}


class CountingConsent:
    """Stands in for the gateway's BackendChannels: answers GetReceiptKeys and records each call."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.calls = []

    async def call(self, component, assertion, request, response_type):
        self.calls.append((component, assertion))
        if isinstance(self.answer, Exception):
            raise self.answer
        return response_type(jwks_json=self.answer)


def test_a_set_of_public_keys_is_published():
    assert public_jwks(json.dumps({"keys": [PUBLIC]})) == {"keys": [PUBLIC]}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"keys": {}}',
        '{"keys": [{"kid": "no-kty"}]}',
        json.dumps({"keys": [{**PUBLIC, "d": "c2VjcmV0"}]}),  # a private key
        json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),  # a shared secret
    ],
)
def test_anything_else_is_an_internal_error_and_not_published(text):
    with pytest.raises(ServiceError) as err:
        public_jwks(text)
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.INTERNAL, "INTERNAL")


async def test_the_gateway_asks_as_itself_and_keeps_the_answer_briefly():
    now = [1000.0]
    consent = CountingConsent(json.dumps({"keys": [PUBLIC]}))
    keys = ReceiptKeys(consent, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await keys.jwks() == await keys.jwks() == {"keys": [PUBLIC]}
    assert len(consent.calls) == 1
    component, assertion = consent.calls[0]
    assert component == "consent" and assertion.method.endswith("/GetReceiptKeys")
    assert assertion.actor.kind == common_pb2.ACTOR_KIND_SYSTEM and assertion.actor.client_id == "samhandling-gateway"
    assert assertion.patient_id == ""
    now[0] += KEEP_SECONDS
    await keys.jwks()
    assert len(consent.calls) == 2


async def test_an_unreachable_consent_service_is_unavailable():
    failure = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down")
    with pytest.raises(ServiceError) as err:
        await ReceiptKeys(CountingConsent(failure)).jwks()  # type: ignore[arg-type]
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.UNAVAILABLE, "CONSENT_UNAVAILABLE")
