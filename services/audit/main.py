"""Composition root of the audit service."""

from __future__ import annotations

from pathlib import Path

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.platform.backend_service import Backend

from .api import AuditApi
from .leader_engine import leader_engine
from .signer import load_log_signer
from .store import AuditStore

BACKEND = Backend(
    name="audit",
    migrations=Path(__file__).parent / "migrations",
    service=audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
    add_to_server=audit_pb2_grpc.add_AuditServiceServicer_to_server,
    read_only=AuditApi.READ_ONLY,
    claimed_in_handler=AuditApi.CLAIMED_IN_HANDLER,
    make_store=AuditStore,
    make_api=lambda store, settings: AuditApi(
        store,
        load_log_signer(settings),
        allow_synthetic=not settings.production,
        leader_engine=leader_engine(settings),
    ),
    load_seeds=lambda store, settings: 0,  # the log starts empty: every event is a real access
    stop_api=AuditApi.close,  # the integrator's thread, and with it this replica's leadership
)
