"""`rpc.server.duration`: every call a server handles, timed, with its method and status code
(OpenTelemetry's RPC semantic conventions; the grpc instrumentation records no metrics in
Python). Recorded by the interceptor every server shares (services.platform.interceptors).

Bounded: `rpc.service` and `rpc.method` come from the method the server found a handler for,
so from its mounted services; a call of any other name is counted as `_OTHER` (a caller
cannot grow the attribute set), and `rpc.grpc.status_code` is one of gRPC's 17 codes.
The instrument comes from the global meter provider (services.platform.telemetry sets it in
`samhandling serve`; without it the API's no-op records nothing), or from the provider given.
"""

from __future__ import annotations

import time

import grpc
from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider

OTHER = "_OTHER"  # the semantic conventions' name for a value outside the known set

Attributes = dict[str, str | int]


class RpcMetrics:
    """The server-side RPC instruments, from `provider` (None: the global one)."""

    def __init__(self, provider: MeterProvider | None = None) -> None:
        self._duration = metrics.get_meter("samhandling.rpc", meter_provider=provider).create_histogram(
            "rpc.server.duration",
            unit="ms",
            description="duration of inbound RPCs, by method and status code",
        )

    def record(self, attributes: Attributes, code: grpc.StatusCode, started: float) -> None:
        """Records one call that began at `started` (time.perf_counter()) and ended with `code`."""
        self._duration.record(
            (time.perf_counter() - started) * 1000.0, {**attributes, "rpc.grpc.status_code": code.value[0]}
        )


GLOBAL = RpcMetrics()


def method_attributes(method: str | None) -> Attributes:
    """The attributes of a call of `method` ("/package.Service/Method"); None: a method the
    server does not have."""
    service, _, name = (method or "").lstrip("/").partition("/")
    if method is None or not service or not name:
        service = name = OTHER
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def ended_with(context: grpc.aio.ServicerContext, default: grpc.StatusCode) -> grpc.StatusCode:
    """The code the call's context was given (abort or set_code), else `default`."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        return next((c for c in grpc.StatusCode if c.value[0] == code), default)
    return default
