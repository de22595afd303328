"""Composition root of the consent service."""
from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.platform.backend import backend_server
from services.platform.db import make_engine, make_sessions
from services.platform.server import GrpcServer, Servicer
from services.platform.settings import Settings

from . import seed as seeding
from .api import ConsentApi
from .store import ConsentStore

COMPONENT = "consent"
MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name


def make_store(settings: Settings, tracer_provider: TracerProvider | None = None) -> ConsentStore:
    return ConsentStore(make_sessions(make_engine(settings.database_url(COMPONENT), tracer_provider)))


def seed(settings: Settings) -> int:
    # Synthetic test persons are refused in production, seeds included.
    return seeding.seed(make_store(settings), settings.seeds_dir, allow_synthetic=not settings.production)


def create_server(settings: Settings, tracer_provider: TracerProvider, address: str | None = None) -> GrpcServer:
    api = ConsentApi(make_store(settings, tracer_provider), allow_synthetic=not settings.production)
    servicer = Servicer(SERVICE_NAME, consent_pb2_grpc.add_ConsentServiceServicer_to_server, api)
    return backend_server(COMPONENT, settings, tracer_provider, [servicer], address=address)
