"""Recording decisions in the audit log before any data is released (fail closed).

Concurrent reads share AppendEvents calls (docs/gateway-request-path.md, "Concurrent reads share
an audit append"): while one call is in flight the events of other reads queue, and go in one
call when it returns. Each read's `record` returns only once the call that carried its events has
succeeded; if that call fails, every read it carried gets AUDIT_UNAVAILABLE."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from services.platform.assertion import GATEWAY_CLIENT_ID, Assertion
from services.platform.error_reasons import Reason
from services.platform.errors import ServiceError

from .backend_channels import BackendChannels

log = logging.getLogger(__name__)

APPEND_EVENTS = "/samhandling.audit.v1.AuditService/AppendEvents"
GATEWAY_ACTOR = common_pb2.Actor(kind=common_pb2.ACTOR_KIND_SYSTEM, client_id=GATEWAY_CLIENT_ID)
ATTEMPTS = 2
MAX_EVENTS_PER_CALL = 500  # the audit service's limit (services/audit/api.py)
# Events waiting for the call in flight, per gateway process; a read beyond it is refused at once
# (AUDIT_UNAVAILABLE) rather than let the queue grow. ~64 reads' worth at 32 in flight is far below.
MAX_QUEUED_EVENTS = 5000

# A call shared by several reads runs in a trace of its own, under a span of this name linked to
# the span of every read it carries (OpenTelemetry links: how a batch names what it serves).
SHARED_APPEND_SPAN = "audit append shared by reads"

Send = Callable[[list[audit_pb2.AuditEvent], str], Awaitable[None]]


def audit_unavailable() -> ServiceError:
    return Reason.AUDIT_UNAVAILABLE.error("the access could not be recorded in the audit log; nothing was served")


@dataclass(eq=False)
class _Pending:
    events: list[audit_pb2.AuditEvent]
    trace_id: str
    stored: asyncio.Future[None]
    context: contextvars.Context  # the read's (its span): a call of its events alone runs in it
    span: trace.SpanContext  # the read's span: a shared call links to it


class AppendCoalescer:
    """One AppendEvents in flight at a time; the reads that come meanwhile share the next one.

    A read that finds nothing in flight sends its own call at once (nothing waits for company).
    The queue is then sent by a drain task, call after call: whole reads, in the order they came,
    up to `max_per_call` events (a single read larger than that goes alone, and the audit service
    refuses it as before). A read cancelled while queued is taken out of the queue. One cancelled
    while its call is in flight: a call of its own is cancelled with it, a shared one goes on. In
    both cases its events may still be stored, which is harmless: the log then holds an access
    whose answer nobody received (as before)."""

    def __init__(
        self,
        send: Send,
        max_per_call: int = MAX_EVENTS_PER_CALL,
        max_queued: int = MAX_QUEUED_EVENTS,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._send = send
        self._tracer = tracer or trace.NoOpTracer()
        self._max_per_call = max_per_call
        self._max_queued = max_queued
        self._queue: deque[_Pending] = deque()
        self._queued = 0
        self._sender: asyncio.Task[None] | None = None  # sends the queue, call after call
        self._in_flight = False  # a read sends its own call (nothing was in flight when it came)

    async def record(self, events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
        """Returns once the call that carried `events` has succeeded; raises AUDIT_UNAVAILABLE
        if it failed, or at once if the queue is full."""
        if not self._in_flight and self._sender is None:
            await self._lead(events, trace_id)
            return
        if self._queued + len(events) > self._max_queued:
            log.warning("audit queue full", extra={"queued": self._queued})
            raise audit_unavailable()
        pending = _Pending(
            events,
            trace_id,
            asyncio.get_running_loop().create_future(),
            contextvars.copy_context(),
            trace.get_current_span().get_span_context(),
        )
        self._queue.append(pending)
        self._queued += len(events)
        try:
            await pending.stored
        except asyncio.CancelledError:
            if pending in self._queue:  # not sent yet: the others' call goes without it
                self._queue.remove(pending)
                self._queued -= len(pending.events)
            raise

    async def _lead(self, events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
        """Nothing in flight: this read's call goes out at once, in its own task and context
        (no extra task: the cost of a read alone is that of one call). The reads that queue
        meanwhile are sent by a drain task once it returns, even if this read is cancelled."""
        self._in_flight = True
        try:
            await self._send(events, trace_id)
        except ServiceError:
            raise
        except Exception:
            log.exception("audit append failed")
            raise audit_unavailable() from None
        finally:
            self._in_flight = False
            if self._queue:
                self._sender = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                events = [event for pending in batch for event in pending.events]
                # The assertion names a trace only when the call carries one read's events; each
                # event carries its own trace id (the audit service does not compare them).
                shared = len(batch) > 1
                trace_id = "" if shared else batch[0].trace_id
                try:
                    # In the read's context (its span); a shared call's span is a trace of its own.
                    await asyncio.create_task(
                        self._sent(events, trace_id, batch if shared else None), context=batch[0].context
                    )
                except BaseException as exc:
                    if not isinstance(
                        exc, ServiceError | asyncio.CancelledError
                    ):  # a ServiceError is logged where raised
                        log.exception("audit append failed")
                    _settle(batch, failed=True)
                    if not isinstance(exc, Exception):
                        raise  # the drain is cancelled (the loop shuts down)
                else:
                    _settle(batch, failed=False)
        finally:
            self._sender = None
            # Only if the drain itself was cancelled (the loop shuts down): nobody is left waiting.
            _settle(list(self._queue), failed=True)
            self._queue.clear()
            self._queued = 0

    async def _sent(self, events: list[audit_pb2.AuditEvent], trace_id: str, shared: list[_Pending] | None) -> None:
        if shared is None:
            await self._send(events, trace_id)
            return
        links = [trace.Link(context) for context in (p.span for p in shared) if context.is_valid]
        with self._tracer.start_as_current_span(SHARED_APPEND_SPAN, context=otel_context.Context(), links=links):
            await self._send(events, trace_id)

    def _take(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        size = len(batch[0].events)
        while self._queue and size + len(self._queue[0].events) <= self._max_per_call:
            pending = self._queue.popleft()
            batch.append(pending)
            size += len(pending.events)
        self._queued -= size
        return batch


def _settle(batch: list[_Pending], failed: bool) -> None:
    """Answers every read of `batch` still waiting (a cancelled one's future is done already)."""
    for pending in batch:
        if not pending.stored.done():
            if failed:
                pending.stored.set_exception(audit_unavailable())
            else:
                pending.stored.set_result(None)


class _Sender:
    """One AppendEvents call, retried once when its answer was lost (UNAVAILABLE or
    DEADLINE_EXCEEDED): each event has an idempotency key, so the retry cannot store it twice."""

    def __init__(self, backends: BackendChannels) -> None:
        self._backends = backends

    async def __call__(self, events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
        request = audit_pb2.AppendEventsRequest(events=events)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # The answer (the stored events, in request order) is not needed: success is all.
                await self._backends.call(
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
        raise audit_unavailable()


# One coalescer per gateway (its BackendChannels) and event loop.
_coalescers: weakref.WeakKeyDictionary[BackendChannels, tuple[asyncio.AbstractEventLoop, AppendCoalescer]] = (
    weakref.WeakKeyDictionary()
)


def coalescer(backends: BackendChannels) -> AppendCoalescer:
    loop = asyncio.get_running_loop()
    known = _coalescers.get(backends)
    if known is None or known[0] is not loop:
        tracer = backends.tracer_provider.get_tracer(__name__)
        known = (loop, AppendCoalescer(_Sender(backends), tracer=tracer))
        _coalescers[backends] = known
    return known[1]


async def record(backends: BackendChannels, events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
    """Returns only once the audit service has durably stored every event (in a call it may
    share with concurrent reads). Each event has an idempotency key, so the retry after a lost
    answer cannot store it twice."""
    for event in events:
        event.idempotency_key = event.idempotency_key or uuid.uuid4().hex
    await coalescer(backends).record(events, trace_id)
