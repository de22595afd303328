"""Composition root of the capacity service."""
from __future__ import annotations

from pathlib import Path

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform.backend import Backend

from . import seed
from .api import CapacityApi
from .store import CapacityStore

BACKEND = Backend(
    name="capacity",
    migrations=Path(__file__).parent / "migrations",
    service=capacity_pb2.DESCRIPTOR.services_by_name["CapacityService"],
    add_to_server=capacity_pb2_grpc.add_CapacityServiceServicer_to_server,
    make_store=CapacityStore,
    make_api=lambda store, settings: CapacityApi(store),
    load_seeds=lambda store, settings: seed.seed(store, settings.seeds_dir),
)
