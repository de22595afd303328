"""Recording decisions in the audit log before any data is released (fail closed)."""
from __future__ import annotations

import logging
import uuid

import grpc

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from services.platform.assertion import GATEWAY_CLIENT_ID, Assertion
from services.platform.errors import unavailable

from .backends import Backends

log = logging.getLogger(__name__)

APPEND_EVENTS = "/samhandling.audit.v1.AuditService/AppendEvents"
GATEWAY_ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id=GATEWAY_CLIENT_ID)
ATTEMPTS = 2


async def record(backends: Backends, events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
    """Returns only once the audit service has durably stored every event. Each event has an
    idempotency key, so the retry after a lost answer cannot store it twice."""
    for event in events:
        event.idempotency_key = event.idempotency_key or uuid.uuid4().hex
    request = audit_pb2.AppendEventsRequest(events=events)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await backends.call(
                "audit",
                Assertion(method=APPEND_EVENTS, actor=GATEWAY_ACTOR, trace_id=trace_id),
                request,
                audit_pb2.AppendEventsResponse,
            )
            return
        except grpc.aio.AioRpcError as exc:
            log.warning("audit append failed", extra={"code": exc.code().name, "attempt": attempt})
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                break
    raise unavailable("AUDIT_UNAVAILABLE", "the access could not be recorded in the audit log; nothing was served")
