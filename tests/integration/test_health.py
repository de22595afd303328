"""grpc.health.v1.Health through the tracing interceptor, and the graceful stop
(services/platform/server.py): pollers see NOT_SERVING before anything is refused, calls
during the drain are served, and a call in flight when the server stops accepting finishes."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.sdk.trace import TracerProvider

from services.platform.channels import open_channel
from services.platform.server import GrpcServer
from tests.fixtures.health_checks import check
from tests.fixtures.replicas import HOLD, SERVICE, replica, who
from tests.fixtures.spans import recording_spans
from tests.support import HEALTH_NO_ANSWER

NO_ANSWER_NAMES = frozenset(code.name for code in HEALTH_NO_ANSWER)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
WAIT_SECONDS = 5.0  # upper bound on waiting for an event, so a broken server fails instead of hanging


def plain(port: int) -> grpc.aio.Channel:
    """A channel that does not health-check (so it reaches a draining server too)."""
    return open_channel(f"127.0.0.1:{port}", health_checked=False)


async def test_watch_through_the_tracing_interceptor_sees_serving_then_not_serving_on_a_stop() -> None:
    spans, provider = recording_spans()
    server = replica("a", provider=provider)
    port = await server.start()
    async with plain(port) as channel:
        watches = {
            name: health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=name))
            for name in ("", SERVICE)
        }
        for watch in watches.values():
            assert (await asyncio.wait_for(watch.read(), WAIT_SECONDS)).status == SERVING
        stopping = asyncio.create_task(server.stop(WAIT_SECONDS, drain=0.5))
        for watch in watches.values():
            assert (await asyncio.wait_for(watch.read(), WAIT_SECONDS)).status == NOT_SERVING
        for watch in watches.values():  # the stop ends the watches
            assert await asyncio.wait_for(watch.read(), WAIT_SECONDS) is grpc.aio.EOF
            assert await watch.code() == grpc.StatusCode.OK
        await stopping
    assert "/grpc.health.v1.Health/Watch" in {s.name for s in spans.get_finished_spans()}  # traced, not bypassed


async def test_a_watcher_still_sees_the_drain_after_another_watcher_went_away() -> None:
    """With grpcio-health-checking's servicer the second watcher would never hear again once
    the first one ended (services/platform/health.py says why)."""
    server = replica("a")
    port = await server.start()
    try:
        async with plain(port) as staying:
            async with plain(port) as leaving:
                gone = health_pb2_grpc.HealthStub(leaving).Watch(health_pb2.HealthCheckRequest())
                assert (await asyncio.wait_for(gone.read(), WAIT_SECONDS)).status == SERVING
                watch = health_pb2_grpc.HealthStub(staying).Watch(health_pb2.HealthCheckRequest())
                assert (await asyncio.wait_for(watch.read(), WAIT_SECONDS)).status == SERVING
            deadline = time.monotonic() + WAIT_SECONDS
            while server._health.watching > 1:  # until the server has ended the closed channel's watch
                assert time.monotonic() < deadline, "the closed channel's watch never ended"
                await asyncio.sleep(0.01)  # polling a condition with a deadline
            await server.drain(0)
            assert (await asyncio.wait_for(watch.read(), WAIT_SECONDS)).status == NOT_SERVING
    finally:
        await server.stop(0)


async def test_open_watches_do_not_hold_up_a_stop() -> None:
    server = replica("a")
    port = await server.start()
    async with plain(port) as channel:  # a watching balancer or monitor
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        assert (await asyncio.wait_for(watch.read(), WAIT_SECONDS)).status == SERVING
        started = time.monotonic()
        await server.stop(WAIT_SECONDS)
        assert time.monotonic() - started < WAIT_SECONDS / 2  # no real call was in flight
        assert (await asyncio.wait_for(watch.read(), WAIT_SECONDS)).status == NOT_SERVING
        assert await asyncio.wait_for(watch.read(), WAIT_SECONDS) is grpc.aio.EOF


@pytest.mark.filterwarnings("ignore:coroutine 'HealthServicer.Watch' was never awaited")
async def test_upstream_tracing_interceptor_breaks_watch_which_is_why_ours_adapts_it() -> None:
    """Documents open-telemetry/opentelemetry-python-contrib#3066: if this starts passing
    upstream, services.platform.telemetry._ServerInterceptor can go."""
    server = GrpcServer("a", "127.0.0.1:0", interceptors=[aio_server_interceptor(tracer_provider=TracerProvider())])
    port = await server.start()
    try:
        async with plain(port) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
            with pytest.raises(grpc.aio.AioRpcError) as broken:
                await asyncio.wait_for(watch.read(), WAIT_SECONDS)
        assert broken.value.code() == grpc.StatusCode.UNKNOWN
    finally:
        await server.stop(0)


async def test_a_poller_sees_not_serving_before_unavailable_and_the_drain_serves_calls() -> None:
    release = asyncio.Event()
    server = replica("a", release=release)
    port = await server.start()
    async with plain(port) as channel:
        assert await check(channel) == "SERVING"
        await served_through_the_stop(server, channel, release)


async def served_through_the_stop(server: GrpcServer, channel: grpc.aio.Channel, release: asyncio.Event) -> None:
    try:
        stopping = asyncio.create_task(server.stop(WAIT_SECONDS, drain=2.0))  # ample for two calls under load
        seen = ["SERVING"]
        held = None
        deadline = time.monotonic() + WAIT_SECONDS
        while seen[-1] != "UNAVAILABLE":
            assert time.monotonic() < deadline, f"never refused: {seen}"
            status = await check(channel)
            if status in NO_ANSWER_NAMES:  # cut off by the stop, or slow: poll again
                await asyncio.sleep(0.02)
                continue
            if status == "NOT_SERVING" and held is None:
                assert await who(channel) == "a"  # a call during the drain is served
                held = asyncio.ensure_future(channel.unary_unary(HOLD)(b"", timeout=WAIT_SECONDS))
            if status != seen[-1]:
                seen.append(status)
            await asyncio.sleep(0.02)  # the poller's period, not synchronisation
        assert seen == ["SERVING", "NOT_SERVING", "UNAVAILABLE"]
        # The server refuses new calls now; the call that was in flight still finishes.
        assert held is not None and not held.done()
        release.set()
        assert StringValue.FromString(await held).value == "a"
        await stopping
    finally:
        release.set()
        await server.stop(0)
