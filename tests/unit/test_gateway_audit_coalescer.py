"""The gateway's audit coalescer (gateway/audit_client.AppendCoalescer): while one AppendEvents
is in flight the reads that come meanwhile queue and share the next call. Pure asyncio with a
fake sender, ordered by events (the real servers: tests/integration/test_gateway_audit_beside.py)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from opentelemetry import trace

from gateway.audit_client import SHARED_APPEND_SPAN, AppendCoalescer
from samhandling.audit.v1 import audit_pb2
from services.platform.errors import ServiceError, unavailable
from tests.fixtures.spans import recording_spans

TRACE = "0af7651916cd43dd8448eb211c80319c"


class Sender:
    """Holds every call until the test answers it: `calls` holds (event ids, trace id, outcome)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str, asyncio.Future[None]]] = []
        self.called = asyncio.Condition()

    async def __call__(self, events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        async with self.called:
            self.calls.append(([event.idempotency_key for event in events], trace_id, outcome))
            self.called.notify_all()
        await outcome

    async def call(self, number: int) -> tuple[list[str], str, asyncio.Future[None]]:
        """The `number`th call (from 1), once it has been made."""
        async with self.called:
            await asyncio.wait_for(self.called.wait_for(lambda: len(self.calls) >= number), 5)
        return self.calls[number - 1]


def events(*keys: str) -> list[audit_pb2.AuditEvent]:
    return [audit_pb2.AuditEvent(idempotency_key=key) for key in keys]


async def queued(coalescer: AppendCoalescer, count: int) -> None:
    """Until `count` reads wait in the queue (the tasks have run up to their await): yields to
    the loop, no timed sleep; fails rather than hangs."""
    async with asyncio.timeout(5):
        while len(coalescer._queue) < count:
            await asyncio.sleep(0)


async def behind_a_first_call(
    coalescer: AppendCoalescer, sender: Sender, *later: list[audit_pb2.AuditEvent]
) -> tuple[asyncio.Task[None], asyncio.Future[None], list[asyncio.Task[None]]]:
    """A first read ("a") whose call is in flight, not yet answered, and the `later` reads queued
    behind it: (the first read, its call's outcome, the later reads)."""
    first = asyncio.create_task(coalescer.record(events("a"), TRACE))
    _, _, outcome = await sender.call(1)
    waiting = [asyncio.create_task(coalescer.record(read, TRACE)) for read in later]
    await queued(coalescer, len(later))
    return first, outcome, waiting


def reason(task: asyncio.Task[None]) -> str:
    error = task.exception()
    assert isinstance(error, ServiceError), error
    assert error.code == grpc.StatusCode.UNAVAILABLE
    return error.reason


async def test_the_first_read_goes_out_at_once_with_its_own_trace_id():
    sender = Sender()
    coalescer = AppendCoalescer(sender)
    reading = asyncio.create_task(coalescer.record(events("a1", "a2"), TRACE))
    keys, trace_id, outcome = await sender.call(1)
    assert (keys, trace_id) == (["a1", "a2"], TRACE)
    assert not reading.done()  # returns only once the call has succeeded
    outcome.set_result(None)
    await reading


async def test_reads_that_come_during_a_call_share_the_next_one_in_order():
    sender = Sender()
    coalescer = AppendCoalescer(sender)
    first, outcome, later = await behind_a_first_call(coalescer, sender, *(events(f"{n}x", f"{n}y") for n in range(3)))
    outcome.set_result(None)
    await first
    keys, trace_id, second = await sender.call(2)
    assert keys == ["0x", "0y", "1x", "1y", "2x", "2y"]
    assert trace_id == ""  # several reads' events: each carries its own trace id
    assert not any(task.done() for task in later)
    second.set_result(None)
    await asyncio.gather(*later)
    assert len(sender.calls) == 2


async def test_a_failed_call_fails_exactly_the_reads_it_carried():
    sender = Sender()
    coalescer = AppendCoalescer(sender)
    first, outcome, carried = await behind_a_first_call(coalescer, sender, events("b"), events("c"))
    outcome.set_result(None)
    _, _, failing = await sender.call(2)
    after = asyncio.create_task(coalescer.record(events("d"), TRACE))  # queued behind the failing call
    await queued(coalescer, 1)
    failing.set_exception(unavailable("AUDIT_UNAVAILABLE", "not recorded"))
    keys, _, third = await sender.call(3)
    assert keys == ["d"]
    third.set_result(None)
    await first
    await after
    await asyncio.wait(carried)
    assert [reason(task) for task in carried] == ["AUDIT_UNAVAILABLE", "AUDIT_UNAVAILABLE"]


async def test_an_unexpected_error_fails_the_call_closed():
    async def broken(events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
        raise RuntimeError("a bug")

    reading = asyncio.create_task(AppendCoalescer(broken).record(events("a"), TRACE))
    await asyncio.wait([reading])
    assert reason(reading) == "AUDIT_UNAVAILABLE"


async def test_a_call_takes_whole_reads_up_to_the_per_call_limit():
    sender = Sender()
    coalescer = AppendCoalescer(sender, max_per_call=4)
    first, outcome, later = await behind_a_first_call(coalescer, sender, *(events(f"{n}x", f"{n}y") for n in range(3)))
    outcome.set_result(None)
    keys, _, second = await sender.call(2)
    assert keys == ["0x", "0y", "1x", "1y"]
    second.set_result(None)
    keys, trace_id, third = await sender.call(3)
    assert (keys, trace_id) == (["2x", "2y"], TRACE)
    third.set_result(None)
    await asyncio.gather(first, *later)


async def test_a_full_queue_refuses_at_once_rather_than_grow():
    sender = Sender()
    coalescer = AppendCoalescer(sender, max_queued=3)
    first = asyncio.create_task(coalescer.record(events("a", "b"), TRACE))
    _, _, outcome = await sender.call(1)  # sent: no longer queued
    waiting = asyncio.create_task(coalescer.record(events("c", "d", "e"), TRACE))
    await queued(coalescer, 1)
    with pytest.raises(ServiceError) as refused:
        await coalescer.record(events("f"), TRACE)
    assert (refused.value.code, refused.value.reason) == (grpc.StatusCode.UNAVAILABLE, "AUDIT_UNAVAILABLE")
    outcome.set_result(None)
    _, _, second = await sender.call(2)
    second.set_result(None)
    await asyncio.gather(first, waiting)
    assert [keys for keys, _, _ in sender.calls] == [["a", "b"], ["c", "d", "e"]]


async def test_a_read_cancelled_while_queued_does_not_break_the_others():
    sender = Sender()
    coalescer = AppendCoalescer(sender)
    first, outcome, (gone, staying) = await behind_a_first_call(coalescer, sender, events("b"), events("c"))
    gone.cancel()
    await asyncio.wait([gone])
    outcome.set_result(None)
    keys, _, second = await sender.call(2)
    assert keys == ["c"]  # a cancelled read still queued is left out
    second.set_result(None)
    await asyncio.gather(first, staying)
    assert gone.cancelled()


async def test_a_read_cancelled_while_its_call_is_in_flight_leaves_the_call_alone():
    sender = Sender()
    coalescer = AppendCoalescer(sender)
    first, outcome, carried = await behind_a_first_call(coalescer, sender, events("b"), events("c"))
    outcome.set_result(None)
    keys, _, second = await sender.call(2)
    carried[0].cancel()  # its events may still be stored
    await asyncio.wait([carried[0]])
    assert not second.cancelled()
    second.set_result(None)
    await asyncio.gather(first, carried[1])
    assert keys == ["b", "c"]


async def test_a_call_of_one_reads_events_runs_in_its_trace_and_a_shared_call_in_its_own_linked_to_each_read():
    exporter, provider = recording_spans()
    tracer = provider.get_tracer("test")
    seen: list[trace.SpanContext] = []
    sender = Sender()

    async def observing(events: list[audit_pb2.AuditEvent], trace_id: str) -> None:
        seen.append(trace.get_current_span().get_span_context())
        await sender(events, trace_id)

    coalescer = AppendCoalescer(observing, tracer=tracer)
    reads: dict[str, trace.SpanContext] = {}

    async def read(key: str) -> None:
        with tracer.start_as_current_span(f"read {key}") as span:
            reads[key] = span.get_span_context()
            await coalescer.record(events(key), TRACE)

    first = asyncio.create_task(read("a"))
    _, _, outcome = await sender.call(1)
    later = [asyncio.create_task(read(key)) for key in ("b", "c")]
    await queued(coalescer, 2)
    outcome.set_result(None)
    _, _, second = await sender.call(2)
    second.set_result(None)
    await asyncio.gather(first, *later)
    assert seen[0] == reads["a"]  # one read's call: in its span
    [shared] = [span for span in exporter.get_finished_spans() if span.name == SHARED_APPEND_SPAN]
    assert seen[1] == shared.context and shared.parent is None  # a trace of its own ...
    assert shared.context.trace_id not in {reads[key].trace_id for key in "abc"}
    assert [link.context for link in shared.links] == [reads["b"], reads["c"]]  # ... linked to each read


async def test_the_queue_is_sent_even_if_the_read_whose_call_was_in_flight_is_cancelled():
    sender = Sender()
    coalescer = AppendCoalescer(sender)
    first, outcome, (waiting,) = await behind_a_first_call(coalescer, sender, events("b"))
    first.cancel()  # its own call goes with it (its event may or may not be stored)
    await asyncio.wait([first])
    assert first.cancelled() and outcome.cancelled()
    keys, _, second = await sender.call(2)
    assert keys == ["b"]
    second.set_result(None)
    await waiting


def test_the_per_call_limit_is_the_audit_services():
    from gateway import audit_client
    from services.audit import api

    assert audit_client.MAX_EVENTS_PER_CALL == api.MAX_EVENTS_PER_CALL
