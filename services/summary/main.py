"""Composition root of the summary service: the patient summary and the escalations, served
together over one database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from samhandling.summary.v1 import escalation_pb2, escalation_pb2_grpc, summary_pb2, summary_pb2_grpc
from services.platform.backend_service import Backend, ServedService
from services.platform.settings import Settings

from . import seed
from .api import EscalationApi, SummaryApi
from .escalation_rules import AcknowledgeWithin
from .escalation_store import EscalationStore
from .store import SummaryStore


@dataclass(frozen=True)
class Stores:
    """One database, two stores: patients with their records; escalation episodes."""

    summary: SummaryStore
    escalations: EscalationStore

    @classmethod
    def over(cls, sessions: sessionmaker) -> Stores:
        return cls(SummaryStore(sessions), EscalationStore(sessions, AcknowledgeWithin()))


@dataclass(frozen=True)
class Apis:
    """The servicers of the summary backend's two gRPC services."""

    summary: SummaryApi
    escalations: EscalationApi

    @classmethod
    def over(cls, stores: Stores, settings: Settings) -> Apis:
        # Synthetic test persons exist only in development; production refuses them at the edge.
        return cls(
            SummaryApi(stores.summary, allow_synthetic=not settings.production),
            EscalationApi(stores.summary, stores.escalations),
        )


BACKEND = Backend(
    name="summary",
    migrations=Path(__file__).parent / "migrations",
    service=summary_pb2.DESCRIPTOR.services_by_name["PatientSummaryService"],
    add_to_server=lambda apis, server: summary_pb2_grpc.add_PatientSummaryServiceServicer_to_server(
        apis.summary, server
    ),
    read_only=SummaryApi.READ_ONLY,
    more_services=(
        ServedService(
            escalation_pb2.DESCRIPTOR.services_by_name["EscalationService"],
            escalation_pb2_grpc.add_EscalationServiceServicer_to_server,
            servicer=lambda apis: apis.escalations,
            read_only=EscalationApi.READ_ONLY,
        ),
    ),
    make_store=Stores.over,
    make_api=Apis.over,
    load_seeds=lambda stores, settings: seed.seed(stores.summary, settings.seeds_dir),
)
