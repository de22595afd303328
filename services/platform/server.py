"""The aio server bootstrap every process uses: health, reflection, graceful stop."""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Servicer:
    """One gRPC service to mount: its full name, the generated add-function and the impl."""

    name: str
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    impl: Any


class GrpcServer:
    """A grpc.aio server that reports SERVING only once it is started and ready.

    Pass `generic_handlers` for services served without generated servicers (the gateway),
    and `on_stop` for resources to release once the last call has finished.
    """

    def __init__(
        self,
        component: str,
        address: str,
        servicers: Sequence[Servicer] = (),
        *,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        generic_handlers: Sequence[grpc.GenericRpcHandler] = (),
        service_names: Sequence[str] = (),
        on_stop: Sequence[Callable[[], object]] = (),
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self.component = component
        self._address = address
        self._server = grpc.aio.server(interceptors=list(interceptors), options=list(options))
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        for s in servicers:
            s.add_to_server(s.impl, self._server)
        if generic_handlers:
            self._server.add_generic_rpc_handlers(tuple(generic_handlers))
        self._names = [*(s.name for s in servicers), *service_names]
        reflection.enable_server_reflection(
            [*self._names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server
        )
        self._on_stop = on_stop
        self.port = 0

    async def start(self) -> int:
        """Binds, starts and marks every service SERVING; returns the bound port."""
        for name in ("", *self._names):
            await self._health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.port = self._server.add_insecure_port(self._address)
        if not self.port:
            raise OSError(f"{self.component}: cannot bind {self._address}")
        await self._server.start()
        for name in ("", *self._names):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"component": self.component, "port": self.port})
        return self.port

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Reports NOT_SERVING first so balancers drain, then lets calls in flight finish."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)
        for release in self._on_stop:
            release()
        log.info("stopped", extra={"component": self.component})


async def wait_for_signal() -> None:
    """Returns on the first SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
