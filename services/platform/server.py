"""The aio server bootstrap every process uses: health, reflection, keepalive and connection
age, optional TLS, and a graceful stop that drains before it refuses.

Besides one health entry per mounted service and "" (SERVING once started, NOT_SERVING from
the drain on), the health service answers for `liveness` (SERVING until the server stops
accepting) and `readiness` (the `readiness` checks, services.platform.readiness, NOT_SERVING
from the drain on); docs/observability.md says what each is for.

A graceful stop, in order (`stop(drain=...)`; `samhandling serve` drains on SIGTERM):

1. Drain: every service name, "" and readiness report NOT_SERVING (liveness stays SERVING),
   and the server keeps serving for `drain` seconds. Clients that health-check their
   connections (services.platform.channels) stop picking this replica at once; probes and
   balancers that poll see NOT_SERVING before anything is refused; a call that still arrives
   in the period is served.
2. Stop accepting: open health watches end (services.platform.health), new calls are
   refused, calls in flight get `grace` seconds to finish, then are cancelled.
3. Release what `on_stop` names (database pools), after the last call.

Connections end after a maximum age (GOAWAY, then `max_connection_age_grace` for the calls on
them): clients resolve their targets again and spread over replicas that were added since.
The server permits keepalive pings as often as the clients send them (see
services.platform.channels) and pings idle clients itself to find dead ones."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from . import channels
from .health import LIVENESS, READINESS, HealthServicer
from .readiness import READINESS_INTERVAL_SECONDS, ReadinessCheck, ReadinessMonitor
from .reflection import enable_server_reflection
from .settings import Settings
from .tls import TlsFiles

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0
# Pings without data the server accepts; clients ping every channels.KEEPALIVE_TIME_MS, twice
# this, so jitter never counts as a strike (two strikes: GOAWAY too_many_pings).
MIN_RECV_PING_INTERVAL_MS = channels.KEEPALIVE_TIME_MS // 2
SERVER_KEEPALIVE_TIME_MS = 60_000
SERVER_KEEPALIVE_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class ServerTransport:
    """How a server's connections behave: their age limits and TLS (None: plaintext)."""

    max_connection_age_seconds: float | None = None
    max_connection_age_grace_seconds: float | None = None
    tls: TlsFiles | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, tls: bool = True) -> ServerTransport:
        """`tls=False` for a port the settings' TLS files are not meant for (the gateway's
        public port, which the ingress terminates)."""
        return cls(
            settings.grpc_max_connection_age_seconds,
            settings.grpc_max_connection_age_grace_seconds,
            TlsFiles.from_settings(settings) if tls else None,
        )

    def options(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = [
            # gRPC's default on Linux, stated because workers rely on it: every worker of a
            # component binds the same port (services/cli/worker_supervisor.py).
            ("grpc.so_reuseport", 1),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", MIN_RECV_PING_INTERVAL_MS),
            ("grpc.http2.max_ping_strikes", 2),
            ("grpc.keepalive_time_ms", SERVER_KEEPALIVE_TIME_MS),
            ("grpc.keepalive_timeout_ms", SERVER_KEEPALIVE_TIMEOUT_MS),
        ]
        if self.max_connection_age_seconds is not None:
            options.append(("grpc.max_connection_age_ms", int(self.max_connection_age_seconds * 1000)))
        if self.max_connection_age_grace_seconds is not None:
            options.append(("grpc.max_connection_age_grace_ms", int(self.max_connection_age_grace_seconds * 1000)))
        return options


@dataclass(frozen=True)
class Servicer:
    """One gRPC service to mount: its full name, the generated add-function and the impl."""

    name: str
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    impl: Any


class GrpcServer:
    """A grpc.aio server that reports SERVING only once it is started and ready.

    Pass `generic_handlers` for services served without generated servicers (the gateway),
    `on_start` for work to start once it serves, `on_stop` for resources to release once the
    last call has finished, and `readiness` for
    what `readiness` reports besides the drain (none: ready once started).
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
        on_start: Sequence[Callable[[], object]] = (),
        on_stop: Sequence[Callable[[], object]] = (),
        options: Sequence[tuple[str, Any]] = (),
        transport: ServerTransport | None = None,
        readiness: Sequence[ReadinessCheck] = (),
        readiness_interval: float = READINESS_INTERVAL_SECONDS,
        health_address: str | None = None,
    ) -> None:
        self.component = component
        self._address = address
        transport = transport or ServerTransport()
        self._credentials = transport.tls.server_credentials() if transport.tls else None
        self._server = grpc.aio.server(
            interceptors=list(interceptors), options=list({**dict(transport.options()), **dict(options)}.items())
        )
        self._health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        for s in servicers:
            s.add_to_server(s.impl, self._server)
        if generic_handlers:
            self._server.add_generic_rpc_handlers(tuple(generic_handlers))
        self._names = [*(s.name for s in servicers), *service_names]
        enable_server_reflection([*self._names, health.SERVICE_NAME], self._server)  # v1 and v1alpha
        self._on_start = on_start
        self._on_stop = on_stop
        self._draining = False
        self.readiness = ReadinessMonitor(
            readiness, self._report_ready, interval=readiness_interval, component=component
        )
        self.port = 0
        self._health_address = health_address
        self._health_server: grpc.aio.Server | None = None
        self.health_port = 0  # the plaintext health port, when `health_address` is given

    async def start(self) -> int:
        """Binds, starts and marks every service and liveness SERVING, and readiness as its
        first round of checks found (then checked in the background); returns the bound port."""
        for name in ("", LIVENESS, READINESS, *self._names):
            await self._health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        if self._credentials is None:
            self.port = self._server.add_insecure_port(self._address)
        else:
            self.port = self._server.add_secure_port(self._address, self._credentials)
        if not self.port:
            raise OSError(f"{self.component}: cannot bind {self._address}")
        if self._health_address is not None:
            self._health_server = grpc.aio.server(options=ServerTransport().options())
            health_pb2_grpc.add_HealthServicer_to_server(self._health, self._health_server)
            self.health_port = self._health_server.add_insecure_port(self._health_address)
            if not self.health_port:
                raise OSError(f"{self.component}: cannot bind the health port {self._health_address}")
            await self._health_server.start()
        await self._server.start()
        for name in ("", LIVENESS, *self._names):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        await self.readiness.round()
        self.readiness.start()
        for begin in self._on_start:
            begin()
        log.info("serving", extra={"component": self.component, "port": self.port})
        return self.port

    async def _report_ready(self, ready: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        await self._health.set(READINESS, status)  # ignored once draining

    async def drain(self, seconds: float) -> None:
        """Reports NOT_SERVING for every service, "" and readiness (liveness stays SERVING),
        then keeps serving for `seconds` (a period in which clients and balancers move away,
        not a wait for anything)."""
        if not self._draining:
            self._draining = True
            await self.readiness.stop()
            await self._health.enter_graceful_shutdown()
            log.info("draining", extra={"component": self.component, "seconds": seconds})
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def stop(self, grace: float = GRACE_SECONDS, *, drain: float = 0.0) -> None:
        """Drains for `drain` seconds (NOT_SERVING, still serving), then refuses new calls and
        gives those in flight `grace` seconds to finish."""
        await self.drain(drain)
        await self._health.close()  # open watches end; the grace is for real calls
        if self._health_server is not None:
            await self._health_server.stop(0)  # only health calls, each answered at once
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
