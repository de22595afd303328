"""Composition root of the audit service."""
from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.platform.backend import backend_server
from services.platform.db import make_engine, make_sessions
from services.platform.server import GrpcServer, Servicer
from services.platform.settings import Settings

from . import seed as seeding
from .api import AuditApi
from .store import AuditStore

COMPONENT = "audit"
MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name


def make_store(settings: Settings, tracer_provider: TracerProvider | None = None) -> AuditStore:
    return AuditStore(make_sessions(make_engine(settings.database_url(COMPONENT), tracer_provider)))


def seed(settings: Settings) -> int:
    return seeding.seed(make_store(settings), settings.seeds_dir)


def create_server(settings: Settings, tracer_provider: TracerProvider, address: str | None = None) -> GrpcServer:
    api = AuditApi(make_store(settings, tracer_provider))
    servicer = Servicer(SERVICE_NAME, audit_pb2_grpc.add_AuditServiceServicer_to_server, api)
    return backend_server(COMPONENT, settings, tracer_provider, [servicer], address=address)
