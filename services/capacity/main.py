"""Composition root of the capacity service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform import pg_notify
from services.platform.backend_service import Backend

from . import seed
from .alert_store import AlertStore
from .api import CapacityApi
from .store import CapacityStore
from .wakeups import Wakeups


@dataclass(frozen=True)
class Stores:
    """One database, two stores: units and their reports; organisations and alerts."""

    capacity: CapacityStore
    alerts: AlertStore

    @classmethod
    def over(cls, sessions: sessionmaker) -> Stores:
        return cls(CapacityStore(sessions), AlertStore(sessions))


BACKEND = Backend(
    name="capacity",
    migrations=Path(__file__).parent / "migrations",
    service=capacity_pb2.DESCRIPTOR.services_by_name["CapacityService"],
    add_to_server=capacity_pb2_grpc.add_CapacityServiceServicer_to_server,
    read_only=CapacityApi.READ_ONLY,
    make_store=Stores.over,
    make_api=lambda stores, settings: CapacityApi(
        stores.capacity,
        stores.alerts,
        wakeups=Wakeups(
            pg_notify.listen_url(settings.session_database_url("capacity")), settings.database.password_file
        ),
    ),
    load_seeds=lambda stores, settings: seed.seed(stores.capacity, stores.alerts, settings.seeds_dir),
)
