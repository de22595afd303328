"""Asking the consent service for decisions, through the decision cache; any failure denies
(fail closed)."""
from __future__ import annotations

import logging

import grpc

from samhandling.consent.v1 import consent_pb2
from services.platform.assertion import Assertion
from services.platform.errors import ServiceError, unavailable

from .backends import Backends
from .decision_cache import DecisionCache

log = logging.getLogger(__name__)

BATCH_CHECK_ACCESS = "/samhandling.consent.v1.ConsentService/BatchCheckAccess"


class ConsentUnavailable(Exception):
    pass


class ConsentClient:
    def __init__(self, backends: Backends, cache: DecisionCache) -> None:
        self._backends = backends
        self._cache = cache

    async def decide(
        self, requests: list[consent_pb2.CheckAccessRequest], trace_id: str
    ) -> list[consent_pb2.CheckAccessResponse]:
        """One decision per request (all about one patient, by one actor), in request order:
        from the cache where it holds one, the rest in one BatchCheckAccess."""
        decisions = [self._cache.get(r) for r in requests]
        missing = [i for i, d in enumerate(decisions) if d is None]
        if not missing:
            return decisions
        ticket = self._cache.ticket()  # taken before asking, so a change meanwhile keeps the answer out
        asked = [requests[i] for i in missing]
        assertion = Assertion(
            method=BATCH_CHECK_ACCESS, actor=asked[0].actor, patient_id=asked[0].patient_id, trace_id=trace_id
        )
        try:
            answer = await self._backends.call(
                "consent", assertion, consent_pb2.BatchCheckAccessRequest(requests=asked),
                consent_pb2.BatchCheckAccessResponse,
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("consent decision failed", extra={"code": exc.code().name})
            raise ConsentUnavailable from None
        if len(answer.responses) != len(asked):
            log.error("consent answered %d decisions for %d requests", len(answer.responses), len(asked))
            raise ConsentUnavailable
        for index, request, decision in zip(missing, asked, answer.responses, strict=True):
            self._cache.put(ticket, request, decision)
            decisions[index] = decision
        return decisions


def consent_unavailable_error() -> ServiceError:
    return unavailable("CONSENT_UNAVAILABLE", "the consent service cannot decide now; nothing was served")
