"""A draining gateway: from the first moment its readiness endpoint answers 503 and its gRPC
health NOT_SERVING, while both ports still serve real calls for the drain period; then it
stops. (A balancer checking either port moves away before the gateway stops accepting.)"""

from __future__ import annotations

import asyncio
import time

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider

from gateway.http.readiness import READY_PATH
from gateway.http.routes import OPENAPI_PATH
from gateway.main import create_gateway
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.cli.database_setup import migrate_all
from services.platform.channels import open_channel
from services.platform.errors import error_info
from tests.support import settings_for

DRAIN_SECONDS = 2.0
TIMEOUT_SECONDS = 10.0


async def test_a_draining_gateway_is_not_ready_on_both_ports_yet_serves_until_it_stops(tmp_path):
    settings = settings_for(tmp_path)
    migrate_all(settings, ("gateway",))
    gateway = create_gateway(settings, TracerProvider(), address="127.0.0.1:0", http_address="127.0.0.1:0")
    port = await gateway.start()
    base = f"http://127.0.0.1:{gateway.http_server.port}"
    stopping: asyncio.Task | None = None
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=TIMEOUT_SECONDS) as http,
            open_channel(f"127.0.0.1:{port}", health_checked=False) as channel,
        ):
            ready = await http.get(READY_PATH)
            assert ready.status_code == 200 and ready.json() == {"status": "SERVING"}
            started = time.monotonic()
            stopping = asyncio.create_task(gateway.stop(0, drain=DRAIN_SECONDS))
            await asyncio.sleep(0)  # the drain begins before its first await
            not_ready = await http.get(READY_PATH)
            assert not_ready.status_code == 503 and not_ready.json() == {"status": "NOT_SERVING"}
            assert "no-store" in not_ready.headers["cache-control"]
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS
            )
            assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
            # Real calls are still served on both ports: through the gateway's whole pipeline,
            # refused for want of a token (not for want of a server).
            with_no_token = await http.get("/api/v1/patients/22750884907/rules")
            assert with_no_token.status_code == 401 and with_no_token.json()["error"]["reason"] == "TOKEN_MISSING"
            try:
                await capacity_pb2_grpc.CapacityServiceStub(channel).GetCapacityOverview(
                    capacity_pb2.GetCapacityOverviewRequest(), timeout=TIMEOUT_SECONDS
                )
                raise AssertionError("a call without a token was answered")
            except grpc.aio.AioRpcError as refused:
                assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
                assert error_info(refused)[0] == "TOKEN_MISSING"
            assert (await http.get(OPENAPI_PATH)).status_code == 200
            assert time.monotonic() - started < DRAIN_SECONDS and not stopping.done()
            await asyncio.wait_for(stopping, DRAIN_SECONDS + TIMEOUT_SECONDS)
            assert time.monotonic() - started >= DRAIN_SECONDS
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_SECONDS) as http:
            try:
                await http.get(READY_PATH)
                raise AssertionError("a stopped gateway answered")
            except httpx.ConnectError:
                pass
    finally:
        if stopping is None:
            await gateway.stop(0)
