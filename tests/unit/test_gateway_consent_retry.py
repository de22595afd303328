"""The gateway asks consent once more when a replica answers UNAVAILABLE (it died under the
call), with a fresh assertion; any other failure, or a second UNAVAILABLE, denies."""

from __future__ import annotations

import grpc
import pytest

from gateway.consent_client import ConsentClient, ConsentUnavailable
from gateway.decision_cache import DecisionCache
from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from tests.fixtures import people

PATIENT = people.ESKIL
PERMIT = consent_pb2.CheckAccessResponse(decision=common_pb2.DECISION_PERMIT)


def failure(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="test")


class Replicas:
    """BackendChannels whose consent calls answer the scripted outcomes in turn (a fake: unit test)."""

    def __init__(self, *outcomes) -> None:
        self.outcomes = list(outcomes)
        self.jtis: list[str] = []

    async def call(self, component, assertion, request, response_type):
        assert component == "consent"
        self.jtis.append(assertion.jti)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return consent_pb2.BatchCheckAccessResponse(responses=[outcome] * len(request.requests))


async def decide(replicas: Replicas) -> list[consent_pb2.CheckAccessResponse]:
    client = ConsentClient(replicas, DecisionCache(enabled=False))  # type: ignore[arg-type]
    return await client.decide([consent_pb2.CheckAccessRequest(patient_id=PATIENT)], trace_id="t")


async def test_an_unavailable_replica_is_asked_past_with_a_fresh_assertion():
    replicas = Replicas(failure(grpc.StatusCode.UNAVAILABLE), PERMIT)
    assert await decide(replicas) == [PERMIT]
    assert len(replicas.jtis) == 2 and replicas.jtis[0] != replicas.jtis[1]


@pytest.mark.parametrize(
    "outcomes",
    [
        (failure(grpc.StatusCode.UNAVAILABLE), failure(grpc.StatusCode.UNAVAILABLE)),
        (failure(grpc.StatusCode.DEADLINE_EXCEEDED),),
        (failure(grpc.StatusCode.UNAUTHENTICATED),),
    ],
    ids=["unavailable-twice", "deadline", "refused"],
)
async def test_other_failures_and_a_second_unavailable_deny(outcomes):
    replicas = Replicas(*outcomes)
    with pytest.raises(ConsentUnavailable):
        await decide(replicas)
    assert len(replicas.jtis) == len(outcomes)  # never asked a third time, nor again after a refusal
