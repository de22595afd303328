"""The audit append runs beside the backend call, and the answer is released only once both have
succeeded (docs/architecture.md "The request path", step 5): real STS, gateway, consent, audit and summary,
with a front of the test's own before the summary and the audit service that forwards every
call unchanged (the very bytes the gateway's assertion is bound to) and tells the test when the
summary service has answered, so the audit can be held or failed after that, by events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import sqlalchemy

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.assertion import METADATA_KEY
from tests.fixtures import people
from tests.support import expect_error, running_suite

PATIENT = people.ESKIL
APPEND_EVENTS = "/samhandling.audit.v1.AuditService/AppendEvents"
GET_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
# Only what the backends read: the assertion and the trace context.
FORWARDED_METADATA = (METADATA_KEY, "traceparent", "tracestate")
WAIT_SECONDS = 20  # for an event that must come; the test fails, not hangs, if it never does


@dataclass
class Fronts:
    """Both fronts and what they saw: the order of the summary's answer and the audit's storage."""

    backend_answered: asyncio.Event = field(default_factory=asyncio.Event)
    order: list[str] = field(default_factory=list)
    appends: int = 0
    summary_calls: int = 0  # GetPatientSummary calls that reached the summary's front
    counted: asyncio.Condition = field(default_factory=asyncio.Condition)
    servers: list[grpc.aio.Server] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    async def front(
        self,
        address: str,
        answered: Callable[[str], Awaitable[None]] | None = None,
        before: Callable[[str], Awaitable[None]] | None = None,
    ) -> str:
        """A server forwarding every unary call to `address` as bytes; `before(method)` runs
        before a call is forwarded, `answered(method)` after the backend's answer came back."""
        channel = grpc.aio.insecure_channel(address)
        self.channels.append(channel)

        def handler(method: str) -> grpc.RpcMethodHandler:
            async def forward(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
                if before is not None:
                    await before(method)
                metadata = tuple((k, v) for k, v in context.invocation_metadata() or () if k in FORWARDED_METADATA)
                answer = await channel.unary_unary(method)(body, metadata=metadata)
                if answered is not None:
                    await answered(method)
                return answer

            return grpc.unary_unary_rpc_method_handler(forward)

        class Forwarding(grpc.GenericRpcHandler):
            def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
                # The channel's health watch (a stream) is left UNIMPLEMENTED: gRPC counts that as healthy.
                return None if details.method.startswith("/grpc.") else handler(details.method)

        server = grpc.aio.server()
        server.add_generic_rpc_handlers((Forwarding(),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self.servers.append(server)
        return f"127.0.0.1:{port}"

    async def count(self, counter: str) -> int:
        """Adds one to `counter` (appends, summary_calls) and wakes whoever waits for it; the new value."""
        async with self.counted:
            setattr(self, counter, getattr(self, counter) + 1)
            self.counted.notify_all()
            return int(getattr(self, counter))

    async def until(self, counter: str, at_least: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self.counted:
            await self.counted.wait_for(lambda: getattr(self, counter) >= at_least)

    async def summary_front(self, address: str) -> str:
        async def before(method: str) -> None:
            if method == GET_SUMMARY:
                await self.count("summary_calls")

        async def answered(method: str) -> None:
            if method == GET_SUMMARY:
                self.order.append("backend answered")
                self.backend_answered.set()

        return await self.front(address, answered=answered, before=before)

    async def close(self) -> None:
        for server in self.servers:
            await server.stop(0)
        for channel in self.channels:
            await channel.close()


@contextlib.asynccontextmanager
async def suite_with_fronts(tmp_path, audit_front: Callable[[Fronts, str], Awaitable[str]]) -> AsyncIterator[tuple]:
    fronts = Fronts()

    async def audit(address: str) -> str:
        return await audit_front(fronts, address)

    try:
        async with running_suite(tmp_path, fronts={"summary": fronts.summary_front, "audit": audit}) as suite:
            yield suite, fronts
    finally:
        await fronts.close()


async def test_an_audit_failing_after_the_backend_answered_releases_no_data(tmp_path):
    async def failing_audit(fronts: Fronts, address: str) -> str:
        async def before(method: str) -> None:
            if method == APPEND_EVENTS:
                await fronts.count("appends")
                # Held until the summary service has answered the gateway, then refused.
                async with asyncio.timeout(WAIT_SECONDS):
                    await fronts.backend_answered.wait()
                raise RuntimeError("the audit front refuses")  # the server answers UNKNOWN

        return await fronts.front(address, before=before)

    async with suite_with_fronts(tmp_path, failing_audit) as (suite, fronts):
        await expect_error(
            summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway).GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=await suite.auth("demo-ehr")
            ),
            grpc.StatusCode.UNAVAILABLE,
            "AUDIT_UNAVAILABLE",
        )
    assert fronts.backend_answered.is_set(), "the summary service answered before the audit failed"
    assert fronts.order == ["backend answered"]
    assert fronts.appends == 1  # UNKNOWN is not retried (only a lost answer is)


async def test_a_slow_audit_holds_the_backends_answer_until_it_is_stored(tmp_path):
    release = asyncio.Event()

    async def slow_audit(fronts: Fronts, address: str) -> str:
        async def before(method: str) -> None:
            if method == APPEND_EVENTS:
                await release.wait()

        async def answered(method: str) -> None:
            if method == APPEND_EVENTS:
                fronts.order.append("audit stored")

        return await fronts.front(address, answered=answered, before=before)

    async with suite_with_fronts(tmp_path, slow_audit) as (suite, fronts):
        metadata = await suite.auth("demo-ehr")
        stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)

        async def read() -> summary_pb2.GetPatientSummaryResponse:
            answer = await stub.GetPatientSummary(
                summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=metadata
            )
            fronts.order.append("answered")
            return answer

        reading = asyncio.create_task(read())
        try:
            async with asyncio.timeout(WAIT_SECONDS):  # the backend is called while the audit is held
                await fronts.backend_answered.wait()
            # A whole round trip through the gateway after the summary service answered: an
            # answer released early would have reached the client before this one.
            await expect_error(
                stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)),
                grpc.StatusCode.UNAUTHENTICATED,
                "TOKEN_MISSING",
            )
            assert not reading.done()
            release.set()
            summary = await reading
        finally:
            release.set()
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                    await reading
    assert summary.patient_id == PATIENT and summary.municipal_services
    assert fronts.order == ["backend answered", "audit stored", "answered"]


# Concurrent reads share AppendEvents calls (gateway/audit_client.AppendCoalescer; unit tests:
# tests/unit/test_gateway_audit_coalescer.py). A read's events are queued before its backend
# call is sent, so once the summary's front has seen a read's call, its events wait in the queue.


def traceparent(read: int) -> tuple[str, str]:
    return ("traceparent", f"00-{trace_id(read)}-00f067aa0ba902b7-01")


def trace_id(read: int) -> str:
    return f"{read + 1:032x}"


def logged_trace_ids(suite) -> set[str]:
    engine = sqlalchemy.create_engine(suite.settings.database_url("audit"))
    try:
        with engine.connect() as connection:
            return set(connection.execute(sqlalchemy.text("SELECT trace_id FROM audit_events")).scalars())
    finally:
        engine.dispose()


async def test_concurrent_reads_share_audit_appends_and_every_read_is_logged(tmp_path):
    reads = 8

    async def counting_audit(fronts: Fronts, address: str) -> str:
        async def before(method: str) -> None:
            if method == APPEND_EVENTS and await fronts.count("appends") == 1:
                # The first read's call is held until every read has reached the backend.
                await fronts.until("summary_calls", reads)

        return await fronts.front(address, before=before)

    async with suite_with_fronts(tmp_path, counting_audit) as (suite, fronts):
        auth = await suite.auth("demo-ehr")
        stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)
        answers = await asyncio.gather(
            *(
                stub.GetPatientSummary(
                    summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=(*auth, traceparent(read))
                )
                for read in range(reads)
            )
        )
        logged = logged_trace_ids(suite)
    assert all(answer.patient_id == PATIENT for answer in answers)
    assert fronts.appends == 2  # the first read's call, then the seven that came meanwhile in one
    assert {trace_id(read) for read in range(reads)} <= logged


async def test_a_failing_shared_append_fails_exactly_the_reads_it_carried(tmp_path):
    async def failing_second_audit(fronts: Fronts, address: str) -> str:
        async def before(method: str) -> None:
            if method != APPEND_EVENTS:
                return
            call = await fronts.count("appends")
            if call == 1:  # read 0's: held until reads 1 and 2 are queued behind it
                await fronts.until("summary_calls", 3)
            elif call == 2:  # reads 1 and 2: refused once read 3 is queued behind it
                await fronts.until("summary_calls", 4)
                raise RuntimeError("the audit front refuses")  # UNKNOWN: not retried

        return await fronts.front(address, before=before)

    async with suite_with_fronts(tmp_path, failing_second_audit) as (suite, fronts):
        auth = await suite.auth("demo-ehr")
        stub = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway)

        def read(number: int) -> asyncio.Task:
            return asyncio.ensure_future(
                stub.GetPatientSummary(
                    summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=(*auth, traceparent(number))
                )
            )

        first = read(0)
        await fronts.until("appends", 1)
        carried = [read(1), read(2)]
        await fronts.until("appends", 2)
        last = read(3)
        assert (await first).patient_id == PATIENT
        for refused in carried:
            await expect_error(refused, grpc.StatusCode.UNAVAILABLE, "AUDIT_UNAVAILABLE")
        assert (await last).patient_id == PATIENT
        logged = logged_trace_ids(suite)
    assert fronts.appends == 3
    assert {trace_id(0), trace_id(3)} <= logged
    assert not {trace_id(1), trace_id(2)} & logged
