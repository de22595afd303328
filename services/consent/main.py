"""Composition root of the consent service."""
from __future__ import annotations

from pathlib import Path

from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.platform.backend import Backend

from . import seed
from .api import ConsentApi
from .store import ConsentStore

# Synthetic test persons exist only in development; production refuses them, seeds included.
BACKEND = Backend(
    name="consent",
    migrations=Path(__file__).parent / "migrations",
    service=consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
    add_to_server=consent_pb2_grpc.add_ConsentServiceServicer_to_server,
    make_store=ConsentStore,
    make_api=lambda store, settings: ConsentApi(store, allow_synthetic=not settings.production),
    load_seeds=lambda store, settings: seed.seed(store, settings.seeds_dir, allow_synthetic=not settings.production),
)
