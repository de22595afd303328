"""What every backend is made of, declared once per service in its main.py, and built
here the same way for all: database, migrations, seeds, and a traced server that admits
only gateway-asserted calls."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.orm import sessionmaker

from . import telemetry
from .assertion import AssertionVerifier
from .db import make_engine, make_sessions, migrate
from .interceptors import ServiceInterceptor
from .keys import load_jwk
from .production import check_backend_production
from .server import GrpcServer, Servicer
from .settings import Settings


@dataclass(frozen=True)
class Backend:
    """A backend service: its gRPC service and how to build its store, api and seeds."""

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

    def migrate(self, settings: Settings) -> None:
        migrate(settings.database_url(self.name), self.migrations)

    def seed(self, settings: Settings) -> int:
        """Loads the synthetic seeds (idempotent); returns how many records the seeds hold."""
        engine = make_engine(settings.database_url(self.name))
        try:
            return self.load_seeds(self.make_store(make_sessions(engine)), settings)
        finally:
            engine.dispose()

    def create_server(
        self, settings: Settings, tracer_provider: TracerProvider, address: str | None = None
    ) -> GrpcServer:
        check_backend_production(settings)
        engine = make_engine(settings.database_url(self.name), tracer_provider)
        api = self.make_api(self.make_store(make_sessions(engine)), settings)
        public_key = load_jwk(settings.assertion_verification_key(), settings, private=False)
        return GrpcServer(
            self.name,
            address or settings.listen_address(self.name),
            [Servicer(self.service.full_name, self.add_to_server, api)],
            interceptors=[
                telemetry.server_interceptor(tracer_provider),
                ServiceInterceptor(AssertionVerifier(public_key, self.name)),
            ],
            on_stop=[lambda: self.stop_api(api), engine.dispose],
        )
