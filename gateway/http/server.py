"""Serving the JSON API with uvicorn inside the gateway process, beside the gRPC server.

The socket is bound before uvicorn starts, so port 0 works and `start()` returns the real
port. uvicorn's access log stays off (paths hold person numbers), proxy headers are not
trusted (they would steer the DPoP target and the peer), and the process's owner, not
uvicorn, handles signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from opentelemetry.sdk.trace import TracerProvider
from starlette.types import ASGIApp

from services.platform.settings import Settings

from ..backend_channels import BackendChannels
from ..enforcement import Enforcer
from ..web.app import create_web_mount, shell_web
from ..web.context import Web, WebRoute
from .app import create_app
from .readiness import Readiness
from .receipt_keys import ReceiptKeys

log = logging.getLogger(__name__)

GRACE_SECONDS = 5


class HttpServer:
    def __init__(
        self, app: ASGIApp, address: str, readiness: Readiness | None = None, *, reuse_port: bool = False
    ) -> None:
        """`reuse_port`: bind with SO_REUSEPORT, so that several workers of the gateway share
        the port (SAMHANDLING_WORKERS, services/cli/worker_supervisor.py)."""
        self._app = app
        self._reuse_port = reuse_port
        self.readiness = readiness or Readiness()
        self._address = address
        self._server: _Uvicorn | None = None
        self._serving: asyncio.Task | None = None
        self.port = 0

    async def start(self) -> int:
        """Binds, serves, and returns the bound port once connections are accepted."""
        sock = _bind(self._address, reuse_port=self._reuse_port)
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
        self._server = _Uvicorn(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        started = asyncio.create_task(self._server.started_event.wait())
        await asyncio.wait({self._serving, started}, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            started.cancel()
            sock.close()
            raise OSError(f"gateway http: cannot serve on {self._address}")
        self.port = sock.getsockname()[1]
        log.info("serving", extra={"component": "gateway_http", "port": self.port})
        return self.port

    def drain(self) -> None:
        """The readiness endpoint answers 503 from now; everything else is still served."""
        self.readiness.drain()
        log.info("draining", extra={"component": "gateway_http"})

    async def stop(self) -> None:
        """Stops accepting, lets requests in flight finish (up to GRACE_SECONDS)."""
        if self._server is None or self._serving is None:
            return
        self._server.should_exit = True
        await self._serving
        self._server = self._serving = None
        log.info("stopped", extra={"component": "gateway_http"})


def create_http_server(
    settings: Settings,
    enforcer: Enforcer,
    backends: BackendChannels,
    tracer_provider: TracerProvider,
    *,
    address: str | None = None,
    public_url: str | None = None,
    web: tuple[Web, list[WebRoute]] | None = None,
) -> HttpServer:
    """`web`: the web pages' Web and routes; without it the public shell (landing page,
    language switch, static files) is served, with no login."""
    readiness = Readiness()
    receipt_keys = ReceiptKeys(backends)
    pages, page_routes = web or (shell_web(settings, receipt_keys), [])
    app = create_app(
        enforcer,
        receipt_keys,
        tracer_provider,
        public_url=public_url,
        readiness=readiness,
        web=create_web_mount(pages, page_routes, tracer_provider),
    )
    return HttpServer(app, address or settings.addresses["gateway_http"], readiness, reuse_port=settings.workers > 1)


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.started_event.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The gateway stops both its servers on SIGTERM/SIGINT; uvicorn must not take them over.
        yield


def _bind(address: str, *, reuse_port: bool = False) -> socket.socket:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, int(port)))
    except (OSError, ValueError) as exc:
        sock.close()
        raise OSError(f"gateway http: cannot bind {address}: {exc}") from None
    return sock
