"""The audit append runs beside the backend call, and the answer is released only once both have
succeeded (README "The request path", step 5): real STS, gateway, consent, audit and summary,
with a front of the test's own before the summary and the audit service that forwards every
call unchanged (the very bytes the gateway's assertion is bound to) and tells the test when the
summary service has answered, so the audit can be held or failed after that, by events."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.assertion import METADATA_KEY
from tests.support import expect_error, running_suite

PATIENT = "22750884907"
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
    servers: list[grpc.aio.Server] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    async def front(self, address: str, answered: Callable[[str], Awaitable[None]] | None = None,
                    before: Callable[[str], Awaitable[None]] | None = None) -> str:
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

    async def summary_front(self, address: str) -> str:
        async def answered(method: str) -> None:
            if method == GET_SUMMARY:
                self.order.append("backend answered")
                self.backend_answered.set()

        return await self.front(address, answered=answered)

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
                fronts.appends += 1
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
            grpc.StatusCode.UNAVAILABLE, "AUDIT_UNAVAILABLE",
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
            answer = await stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=metadata)
            fronts.order.append("answered")
            return answer

        reading = asyncio.create_task(read())
        try:
            async with asyncio.timeout(WAIT_SECONDS):  # the backend is called while the audit is held
                await fronts.backend_answered.wait()
            # A whole round trip through the gateway after the summary service answered: an
            # answer released early would have reached the client before this one.
            await expect_error(stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT)),
                               grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
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
