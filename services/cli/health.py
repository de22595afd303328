"""Health of every component, as `samhandling status` and `samhandling up` see it."""
from __future__ import annotations

import asyncio

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.platform.channels import open_channel
from services.platform.settings import COMPONENTS, Settings
from services.platform.tls import TlsFiles

TIMEOUT_SECONDS = 2.0


async def component_status(component: str, settings: Settings) -> str:
    """SERVING, NOT_SERVING, UNKNOWN or UNREACHABLE."""
    address = settings.addresses[component]
    if component == "sts":
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
                answer = await http.get(f"http://{address}/.well-known/openid-configuration")
            return "SERVING" if answer.status_code == 200 else "NOT_SERVING"
        except httpx.HTTPError:
            return "UNREACHABLE"
    # A backend serves TLS when the settings name certificates; the gateway's port never does.
    tls = None if component == "gateway" else TlsFiles.from_settings(settings)
    async with open_channel(address, tls=tls, health_checked=False) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


async def all_status(settings: Settings) -> dict[str, str]:
    answers = await asyncio.gather(*(component_status(c, settings) for c in COMPONENTS))
    return dict(zip(COMPONENTS, answers, strict=True))
