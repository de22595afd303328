"""rpc.server.duration (services/platform/rpc_metrics.py) on a real server through the shared
interceptor: each call's method and final status code, whatever way the call ended, and
method names the server does not have counted as _OTHER, so callers cannot add series."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from services.platform.errors import ServiceError
from services.platform.interceptors import ServiceInterceptor
from services.platform.rpc_metrics import RpcMetrics
from services.platform.server import GrpcServer


def points(reader: InMemoryMetricReader) -> dict[tuple[str, str, int], int]:
    """(rpc.service, rpc.method, rpc.grpc.status_code) -> how many calls were recorded."""
    data = reader.get_metrics_data()
    found: dict[tuple[str, str, int], int] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                assert metric.name == "rpc.server.duration" and metric.unit == "ms"
                for point in metric.data.data_points:
                    assert isinstance(point, HistogramDataPoint)
                    attributes = dict(point.attributes or {})
                    assert set(attributes) == {"rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code"}
                    assert attributes["rpc.system"] == "grpc"
                    key = (
                        str(attributes["rpc.service"]),
                        str(attributes["rpc.method"]),
                        int(attributes["rpc.grpc.status_code"]),
                    )  # type: ignore[arg-type]
                    found[key] = point.count
    return found


@pytest.fixture
async def served():
    reader = InMemoryMetricReader()
    release, entered = asyncio.Event(), asyncio.Event()

    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    async def refuse(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise ServiceError(grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND", "no such unit")

    async def crash(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise ValueError("unexpected")

    async def hold(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        entered.set()
        await release.wait()
        return b""

    handlers = {
        name: grpc.unary_unary_rpc_method_handler(f)
        for name, f in {"Echo": echo, "Refuse": refuse, "Crash": crash, "Hold": hold}.items()
    }
    server = GrpcServer(
        "metered",
        "127.0.0.1:0",
        interceptors=[ServiceInterceptor(metrics=RpcMetrics(MeterProvider([reader])))],
        generic_handlers=[grpc.method_handlers_generic_handler("test.Metered", handlers)],
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, reader, entered
    finally:
        release.set()
        await server.stop(0)


async def test_every_call_is_counted_by_method_and_final_status_code(served) -> None:
    channel, reader, entered = served
    for _ in range(2):
        assert await channel.unary_unary("/test.Metered/Echo")(b"x", timeout=10) == b"x"
    for method, code in (("Refuse", grpc.StatusCode.NOT_FOUND), ("Crash", grpc.StatusCode.INTERNAL)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await channel.unary_unary(f"/test.Metered/{method}")(b"", timeout=10)
        assert refused.value.code() == code
    held = channel.unary_unary("/test.Metered/Hold")(b"", timeout=10)
    await asyncio.wait_for(entered.wait(), 10)  # in the handler, then cancelled by the client
    held.cancel()
    for name in ("No", "Such", "Methods"):  # three names never mounted: one series
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await channel.unary_unary(f"/test.Metered/{name}")(b"", timeout=10)
        assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
    answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING

    deadline = asyncio.get_running_loop().time() + 10
    while ("test.Metered", "Hold", grpc.StatusCode.CANCELLED.value[0]) not in points(reader):
        assert asyncio.get_running_loop().time() < deadline, points(reader)
        await asyncio.sleep(0.05)  # the server sees the cancellation after the client
    assert points(reader) == {
        ("test.Metered", "Echo", 0): 2,
        ("test.Metered", "Refuse", grpc.StatusCode.NOT_FOUND.value[0]): 1,
        ("test.Metered", "Crash", grpc.StatusCode.INTERNAL.value[0]): 1,
        ("test.Metered", "Hold", grpc.StatusCode.CANCELLED.value[0]): 1,
        ("_OTHER", "_OTHER", grpc.StatusCode.UNIMPLEMENTED.value[0]): 3,
        ("grpc.health.v1.Health", "Check", 0): 1,
    }
