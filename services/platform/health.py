"""grpc.health.v1.Health for one server: Check and Watch over one table of statuses.

It replaces grpcio-health-checking's aio servicer, which the graceful stop cannot rely on:

- Upstream keeps one asyncio.Condition per service name and deletes it when ANY watcher of
  that name ends; the name's other watchers keep waiting on the deleted condition and are
  never woken again. Every health-checking client connection watches "", so as soon as one
  client goes away (a gateway replica restarts) the others would never see this server's
  NOT_SERVING, and would keep picking it until it refuses. Here one condition serves the
  whole table and is never replaced.
- A Watch never ends by itself, so a stop would spend its whole grace waiting for the open
  watches. `close()` ends them (status OK) after the drain, so the grace is spent only on real
  calls.

Claim: every watcher is sent the status its service has when the watcher next runs after a
change, and the last status before `close()`. Each `set` changes the table and notifies under
the condition; a watcher re-reads the table under the same condition whenever it differs from
what it last sent, so it never sleeps on a status it has not sent. Intermediate statuses may be
skipped (a watcher that is slow to write sends the newest), as the protocol allows.

Two names besides the mounted services and "" are the probes' (docs/observability.md):
`liveness` (SERVING from the start until the server stops accepting, the drain included: a
draining process is alive) and `readiness` (set by services.platform.readiness, NOT_SERVING
from the drain on, like every other name).

Bounded: one table entry per service name the server mounts (set by the server, never by
callers: unknown names are answered SERVICE_UNKNOWN without being stored), and one waiter per
open Watch call, which is one per client connection.
"""

from __future__ import annotations

import asyncio
from functools import partial

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

Status = int  # a HealthCheckResponse.ServingStatus value
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
# The probes' service names (Kubernetes' grpc probes name them): see the module docstring.
LIVENESS = "liveness"
READINESS = "readiness"


class HealthServicer(health_pb2_grpc.HealthServicer):
    def __init__(self) -> None:
        self._status: dict[str, Status] = {}
        self._changed = asyncio.Condition()
        self._draining = False
        self._closed = False
        self.watching = 0  # open Watch calls

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        status = self._status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> None:
        sent: Status | None = None
        self.watching += 1
        try:
            while True:
                async with self._changed:
                    await self._changed.wait_for(partial(self._news, request.service, sent))
                    status, closed = self._current(request.service), self._closed
                if status != sent:
                    await context.write(health_pb2.HealthCheckResponse(status=status))  # outside the lock
                    sent = status
                if closed:
                    return
        finally:
            self.watching -= 1

    def _news(self, service: str, sent: Status | None) -> bool:
        return self._closed or self._current(service) != sent

    def _current(self, service: str) -> Status:
        return self._status.get(service, SERVICE_UNKNOWN)

    async def set(self, service: str, status: Status) -> None:
        """Sets a service's status; ignored once draining (a stop is not undone)."""
        async with self._changed:
            if not self._draining:
                self._status[service] = status
                self._changed.notify_all()

    async def enter_graceful_shutdown(self) -> None:
        """Every service but `liveness` NOT_SERVING, for good. Liveness stays SERVING: the process
        is alive while it drains, and a liveness probe failing then would have it killed before
        the drain is over."""
        async with self._changed:
            self._draining = True
            self._status = {name: status if name == LIVENESS else NOT_SERVING for name, status in self._status.items()}
            self._changed.notify_all()

    async def close(self) -> None:
        """Ends every Watch after it has sent the last status; later watches end at once."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()
