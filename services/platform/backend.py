"""The server every backend process runs: traced, and admitting only gateway-asserted calls."""
from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import TracerProvider

from . import telemetry
from .assertion import AssertionVerifier
from .interceptors import ServiceInterceptor
from .keys import load_jwk
from .server import GrpcServer, Servicer
from .settings import Settings


def backend_server(
    component: str,
    settings: Settings,
    tracer_provider: TracerProvider,
    servicers: Sequence[Servicer],
    *,
    address: str | None = None,
) -> GrpcServer:
    """A backend server that traces every call and admits only gateway-asserted calls."""
    public_key = load_jwk(settings.assertion_verification_key(), settings, private=False)
    return GrpcServer(
        component,
        address or settings.listen_address(component),
        servicers,
        interceptors=[
            telemetry.server_interceptor(tracer_provider),
            ServiceInterceptor(AssertionVerifier(public_key, component)),
        ],
    )

