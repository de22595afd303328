"""Composition root of the summary service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.backend_service import Backend
from services.platform.background import BackgroundWork
from services.platform.settings import Settings

from . import seed
from .api import SummaryApi
from .escalation_rules import AcknowledgeWithin
from .escalation_store import EscalationStore
from .escalation_sweeper import EscalationSweeper
from .responsibility_store import ResponsibilityStore
from .store import SummaryStore
from .use_cases import Escalation


def acknowledge_within(settings: Settings) -> AcknowledgeWithin:
    """The acknowledge-within times in force (SAMHANDLING_ESCALATION_ACKNOWLEDGE_*_MINUTES)."""
    return AcknowledgeWithin(*(timedelta(minutes=m) for m in settings.escalation_acknowledge_minutes.values()))


def sweep_interval(settings: Settings) -> timedelta:
    """The wait between sweeps when nothing more is due (SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS)."""
    return timedelta(seconds=settings.escalation_sweep_interval_seconds)


def make_api(
    store: SummaryStore, settings: Settings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> SummaryApi:
    """The api over the summary database's stores: one EscalationStore (the acknowledge-within
    times in force) shared by RecordVitalSigns and the sweeper. `clock`: tests inject one."""
    escalation = Escalation(
        EscalationStore(store.sessions, acknowledge_within(settings)), ResponsibilityStore(store.sessions)
    )
    # Synthetic test persons exist only in development; production refuses them at the edge.
    return SummaryApi(store, escalation, allow_synthetic=not settings.production, clock=clock)


def sweeper(api: SummaryApi, settings: Settings) -> list[BackgroundWork]:
    """The escalation sweeper, on every replica (each claims free episodes: docs/escalation.md)."""
    sweep = EscalationSweeper(api.escalation.episodes, clock=api.clock, interval=sweep_interval(settings))
    return [BackgroundWork("escalation-sweeper", sweep.run)]


BACKEND = Backend(
    name="summary",
    migrations=Path(__file__).parent / "migrations",
    service=summary_pb2.DESCRIPTOR.services_by_name["PatientSummaryService"],
    add_to_server=summary_pb2_grpc.add_PatientSummaryServiceServicer_to_server,
    read_only=SummaryApi.READ_ONLY,
    make_store=SummaryStore,
    make_api=make_api,
    load_seeds=lambda store, settings: seed.seed(store, settings.seeds_dir),
    background=sweeper,
)
