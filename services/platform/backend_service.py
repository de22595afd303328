"""What every backend is made of, declared once per service in its main.py, and built
here the same way for all: database, migrations, seeds, and a traced server that admits
only gateway-asserted calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.orm import sessionmaker

from . import telemetry
from .assertion import AssertionVerifier
from .background import BackgroundWork
from .db import check_at_head, check_platform_at_head, make_engine, make_sessions, migrate, migrate_platform
from .interceptors import ServiceInterceptor
from .keys import load_jwk
from .production import check_backend_production
from .readiness import database_check
from .replay_store import ReplayStore
from .server import GrpcServer, ServerTransport, Servicer
from .settings import Settings


@dataclass(frozen=True)
class ServedService:
    """A gRPC service a backend serves: its descriptor, the generated add-function, which object
    of the backend's api serves it, and its read-only methods (short names; see Backend.read_only)."""

    service: ServiceDescriptor
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Callable[[Any], Any] = lambda api: api
    read_only: frozenset[str] = frozenset()

    def check(self, backend: str, names: frozenset[str] | None = None) -> None:
        """Refuses a read-only name (or one of `names`) that is no method with one request and
        one response."""
        methods = self.service.methods_by_name
        for name in self.read_only if names is None else names:
            method = methods.get(name)
            if method is None or method.client_streaming or method.server_streaming:
                raise ValueError(
                    f"{backend}: {name!r} is no method of {self.service.full_name} with one request and one response"
                )


@dataclass(frozen=True)
class Backend:
    """A backend service: its gRPC service (and any more it serves on the same server, database
    and api: `more_services`) and how to build its store, api and seeds."""

    name: str
    migrations: Path
    service: ServiceDescriptor
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    make_store: Callable[[sessionmaker], Any]
    make_api: Callable[[Any, Settings], Any]
    load_seeds: Callable[[Any, Settings], int]
    # Called with the api once the server has stopped, before the database is let go: for an
    # api that runs work of its own (the audit log's integrator).
    stop_api: Callable[[Any], object] = lambda api: None
    # Work the backend runs beside its calls on threads of its own (the summary's escalation
    # sweeper), made from its api: started once the server serves, stopped once it has stopped,
    # before `stop_api` and before the database is let go.
    background: Callable[[Any, Settings], Sequence[BackgroundWork]] = lambda api, settings: ()
    # The methods (short names) that change nothing in the backend, declared next to the
    # service's handlers: their assertion's claim runs beside the handler, whose answer is
    # released once the claim has succeeded (services.platform.interceptors). Any method not
    # named here is claimed before its handler runs. Only methods with one request and one
    # response may be named.
    read_only: frozenset[str] = frozenset()
    # The methods (short names, of the first service) whose handler inserts its assertion's
    # claim in the transaction that stores the call's writes
    # (services.platform.interceptors.handler_claim): one transaction per call instead of two.
    # Only methods with one request and one response.
    claimed_in_handler: frozenset[str] = frozenset()
    # Further gRPC services on the same server, each served by an object of the api (the summary
    # backend's EscalationService). The interceptors, reflection and health cover every one.
    more_services: tuple[ServedService, ...] = ()

    def __post_init__(self) -> None:
        if both := self.read_only & self.claimed_in_handler:
            raise ValueError(f"{self.name}: {sorted(both)} both read-only and claimed in their handler")
        for served in self.services:
            served.check(self.name)
        self.services[0].check(self.name, self.claimed_in_handler)

    @property
    def services(self) -> tuple[ServedService, ...]:
        """Every gRPC service the backend serves, its first (`service`) first."""
        first = ServedService(self.service, self.add_to_server, read_only=self.read_only)
        return (first, *self.more_services)

    def read_only_methods(self) -> frozenset[str]:
        """The read-only methods' full names (of every service), as a server interceptor sees them."""
        return frozenset(f"/{s.service.full_name}/{name}" for s in self.services for name in s.read_only)

    def _full_names(self, names: frozenset[str]) -> frozenset[str]:
        return frozenset(f"/{self.service.full_name}/{name}" for name in names)

    def migrate(self, settings: Settings) -> None:
        """The service's own migrations, then the platform's (the replay claims)."""
        migrate(settings.database_url(self.name), self.migrations, settings.database)
        migrate_platform(settings.database_url(self.name), settings.database)

    def seed(self, settings: Settings) -> int:
        """Loads the synthetic seeds (idempotent); returns how many records the seeds hold."""
        tuning = settings.database.for_admin(f"samhandling-{self.name}-seed")
        engine = make_engine(settings.database_url(self.name), tuning=tuning)
        try:
            return self.load_seeds(self.make_store(make_sessions(engine)), settings)
        finally:
            engine.dispose()

    def create_server(
        self, settings: Settings, tracer_provider: TracerProvider, address: str | None = None
    ) -> GrpcServer:
        """Refuses (DatabaseNotReady) unless the database is reachable and at the newest schema."""
        check_backend_production(settings)
        url, tuning = settings.database_url(self.name), settings.database.named(f"samhandling-{self.name}")
        check_at_head(self.name, url, self.migrations, tuning)
        check_platform_at_head(self.name, url, tuning)
        engine = make_engine(url, tracer_provider, tuning)
        api = self.make_api(self.make_store(make_sessions(engine)), settings)
        work = self.background(api, settings)
        public_key = load_jwk(settings.assertion_verification_key(), settings, private=False)
        # Assertion ids are claimed in the backend's own database, shared by all its replicas; the
        # commit does not wait for the disk (docs/internal-assertion.md, "The replay claim").
        replay = ReplayStore.open(
            url,
            "assertion",
            tracer_provider,
            tuning=tuning.named(f"samhandling-{self.name}-replay"),
            synchronous_commit=False,
        )
        # Readiness asks on a connection of its own, so a busy pool does not make it fail.
        probe = make_engine(
            url, tuning=replace(tuning.named(f"samhandling-{self.name}-readiness"), pool_size=1, max_overflow=0)
        )
        return GrpcServer(
            self.name,
            address or settings.listen_address(self.name),
            [Servicer(s.service.full_name, s.add_to_server, s.servicer(api)) for s in self.services],
            interceptors=[
                telemetry.server_interceptor(tracer_provider),
                ServiceInterceptor(
                    AssertionVerifier(public_key, self.name, replay),
                    read_only=self.read_only_methods(),
                    claimed_in_handler=self._full_names(self.claimed_in_handler),
                    tickets=replay,
                ),
            ],
            on_start=[w.start for w in work],
            on_stop=[*(w.stop for w in work), lambda: self.stop_api(api), engine.dispose, replay.close, probe.dispose],
            transport=ServerTransport.from_settings(settings),
            readiness=[database_check(probe)],
            readiness_interval=settings.readiness_interval_seconds,
            health_address=settings.health_listen,
        )
