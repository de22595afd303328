"""Composition root of the summary service."""

from __future__ import annotations

from pathlib import Path

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.backend_service import Backend

from . import seed
from .api import SummaryApi
from .store import SummaryStore

# Synthetic test persons exist only in development; production refuses them at the edge.
BACKEND = Backend(
    name="summary",
    migrations=Path(__file__).parent / "migrations",
    service=summary_pb2.DESCRIPTOR.services_by_name["PatientSummaryService"],
    add_to_server=summary_pb2_grpc.add_PatientSummaryServiceServicer_to_server,
    read_only=SummaryApi.READ_ONLY,
    make_store=SummaryStore,
    make_api=lambda store, settings: SummaryApi(store, allow_synthetic=not settings.production),
    load_seeds=lambda store, settings: seed.seed(store, settings.seeds_dir),
)
