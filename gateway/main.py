"""Composition root of the gateway: everything is built here once and passed in."""
from __future__ import annotations

from dataclasses import dataclass

import httpx
from opentelemetry.sdk.trace import TracerProvider

from services.platform import telemetry
from services.platform.assertion import AssertionSigner
from services.platform.interceptors import ServiceInterceptor
from services.platform.keys import load_jwk
from services.platform.server import GrpcServer
from services.platform.settings import BACKENDS, Settings

from .backends import Backends
from .enforcement import Enforcer
from .jwks import JwksCache
from .policy import POLICIES
from .routes import SERVICES, generic_handlers
from .tokens import TokenValidator

COMPONENT = "gateway"


@dataclass
class Gateway:
    server: GrpcServer
    backends: Backends
    http: httpx.AsyncClient

    async def start(self) -> int:
        return await self.server.start()

    async def stop(self, grace: float | None = None) -> None:
        await (self.server.stop() if grace is None else self.server.stop(grace))
        await self.backends.close()
        await self.http.aclose()


def create_gateway(settings: Settings, tracer_provider: TracerProvider, address: str | None = None) -> Gateway:
    http = httpx.AsyncClient(timeout=5.0)
    tokens = TokenValidator(JwksCache(settings.token_issuer, http), settings.token_issuer, settings.token_audience)
    signer = AssertionSigner(load_jwk(settings.assertion_signing_key(), settings))
    backends = Backends({b: settings.addresses[b] for b in BACKENDS}, signer, tracer_provider)
    enforcer = Enforcer(tokens, backends, allow_synthetic=not settings.production)
    server = GrpcServer(
        COMPONENT,
        address or settings.listen_address(COMPONENT),
        interceptors=[telemetry.server_interceptor(tracer_provider), ServiceInterceptor()],
        generic_handlers=generic_handlers(enforcer, POLICIES),
        service_names=[s.full_name for s in SERVICES],
    )
    return Gateway(server, backends, http)
