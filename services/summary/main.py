"""Composition root of the summary service."""
from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.backend import backend_server
from services.platform.db import make_engine, make_sessions
from services.platform.server import GrpcServer, Servicer
from services.platform.settings import Settings

from . import seed as seeding
from .api import SummaryApi
from .store import SummaryStore

COMPONENT = "summary"
MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = summary_pb2.DESCRIPTOR.services_by_name["PatientSummaryService"].full_name


def make_store(settings: Settings, tracer_provider: TracerProvider | None = None) -> SummaryStore:
    return SummaryStore(make_sessions(make_engine(settings.database_url(COMPONENT), tracer_provider)))


def seed(settings: Settings) -> int:
    return seeding.seed(make_store(settings), settings.seeds_dir)


def create_server(settings: Settings, tracer_provider: TracerProvider, address: str | None = None) -> GrpcServer:
    # Synthetic test persons exist only in development; production refuses them at the edge.
    api = SummaryApi(make_store(settings, tracer_provider), allow_synthetic=not settings.production)
    servicer = Servicer(SERVICE_NAME, summary_pb2_grpc.add_PatientSummaryServiceServicer_to_server, api)
    return backend_server(COMPONENT, settings, tracer_provider, [servicer], address=address)
