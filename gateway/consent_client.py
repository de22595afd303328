"""Asking the consent service for decisions, through the decision cache; any failure denies
(fail closed)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

import grpc

from samhandling.consent.v1 import consent_pb2
from services.platform.assertion import Assertion
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError

from .backend_channels import BackendChannels
from .decision_cache import DecisionCache

log = logging.getLogger(__name__)

BATCH_CHECK_ACCESS = "/samhandling.consent.v1.ConsentService/BatchCheckAccess"
# A decision asked of a consent replica that dies before answering fails UNAVAILABLE although
# another replica serves; it is asked once more (the channel picks the next replica).
ATTEMPTS = 2


class ConsentUnavailable(Exception):
    pass


class ConsentClient:
    def __init__(self, backends: BackendChannels, cache: DecisionCache) -> None:
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
            return [d for d in decisions if d is not None]  # all of them
        ticket = self._cache.ticket()  # taken before asking, so a change meanwhile keeps the answer out
        asked = [requests[i] for i in missing]
        assertion = Assertion(
            method=BATCH_CHECK_ACCESS, actor=asked[0].actor, patient_id=asked[0].patient_id, trace_id=trace_id
        )
        answer = await self._ask(assertion, consent_pb2.BatchCheckAccessRequest(requests=asked))
        if len(answer.responses) != len(asked):
            log.error("consent answered %d decisions for %d requests", len(answer.responses), len(asked))
            raise ConsentUnavailable
        for index, request, decision in zip(missing, asked, answer.responses, strict=True):
            self._cache.put(ticket, request, decision)
            decisions[index] = decision
        return [d for d in decisions if d is not None]  # all of them: each missing one is filled now

    async def _ask(
        self, assertion: Assertion, request: consent_pb2.BatchCheckAccessRequest
    ) -> consent_pb2.BatchCheckAccessResponse:
        """BatchCheckAccess, asked again once if the first answer is UNAVAILABLE. Safe: the
        call only reads (the policy, then a pure decision), each attempt carries a fresh
        assertion (its own `jti`: the dead replica may have claimed the first one), and the cache's ticket was
        taken before the first attempt, so a change during either keeps the answer out of the
        cache. Any other failure, or a second UNAVAILABLE, denies (fail closed)."""
        for attempt in range(1, ATTEMPTS + 1):
            fresh = assertion if attempt == 1 else replace(assertion, jti=uuid.uuid4().hex)
            try:
                return await self._backends.call("consent", fresh, request, consent_pb2.BatchCheckAccessResponse)
            except grpc.aio.AioRpcError as exc:
                log.warning("consent decision failed", extra={"code": exc.code().name, "attempt": attempt})
                if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == ATTEMPTS:
                    raise ConsentUnavailable from None
        raise ConsentUnavailable  # not reached: the last attempt returns or raises


def consent_unavailable_error() -> ServiceError:
    return Reason.CONSENT_UNAVAILABLE.error("the consent service cannot decide now; nothing was served")
