"""Asking the consent service for decisions; any failure denies (fail closed)."""
from __future__ import annotations

import asyncio
import logging

import grpc

from samhandling.common.v1 import common_pb2
from samhandling.consent.v1 import consent_pb2
from services.platform.assertion import Assertion
from services.platform.errors import unavailable

from .backends import Backends

log = logging.getLogger(__name__)

CHECK_ACCESS = "/samhandling.consent.v1.ConsentService/CheckAccess"


class ConsentUnavailable(Exception):
    pass


async def decide(
    backends: Backends,
    actor: common_pb2.Actor,
    patient_id: str,
    categories: tuple[int, ...],
    purpose_of_use: int,
    trace_id: str,
) -> list[consent_pb2.CheckAccessResponse]:
    """One fresh decision per category, asked concurrently. No cache: a revoke is effective
    for the next call through any gateway replica."""

    async def one(category: int) -> consent_pb2.CheckAccessResponse:
        request = consent_pb2.CheckAccessRequest(
            patient_id=patient_id, actor=actor, data_category=category, purpose_of_use=purpose_of_use
        )
        assertion = Assertion(method=CHECK_ACCESS, actor=actor, patient_id=patient_id, trace_id=trace_id)
        return await backends.call("consent", assertion, request, consent_pb2.CheckAccessResponse)

    try:
        return list(await asyncio.gather(*(one(c) for c in categories)))
    except grpc.aio.AioRpcError as exc:
        log.warning("consent decision failed", extra={"code": exc.code().name})
        raise ConsentUnavailable from None


def consent_unavailable_error():
    return unavailable("CONSENT_UNAVAILABLE", "the consent service cannot decide now; nothing was served")
