"""Composition root of the summary service: the patient summary and the escalations, served
together over one database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from samhandling.summary.v1 import escalation_pb2, escalation_pb2_grpc, summary_pb2, summary_pb2_grpc
from services.platform import pg_notify
from services.platform.backend_service import Backend, ServedService
from services.platform.background import BackgroundWork
from services.platform.settings import Settings
from services.platform.wakeups import Wakeups

from . import escalation_inbox_store as inbox
from . import seed
from .api import EscalationApi, SummaryApi
from .escalation_rules import AcknowledgeWithin
from .escalation_signal_store import EscalationSignalStore
from .escalation_store import EscalationStore
from .escalation_sweeper import EscalationSweeper
from .responsibility_store import ResponsibilityStore
from .store import SummaryStore
from .use_cases import Escalation, FactsSource


def acknowledge_within(settings: Settings) -> AcknowledgeWithin:
    """The acknowledge-within times in force (SAMHANDLING_ESCALATION_ACKNOWLEDGE_*_MINUTES)."""
    return AcknowledgeWithin(*(timedelta(minutes=m) for m in settings.escalation_acknowledge_minutes.values()))


def max_measurement_age(settings: Settings) -> timedelta:
    """How old a measurement may be when recorded and still escalate (SAMHANDLING_ESCALATION_MAX_MEASUREMENT_AGE)."""
    return timedelta(minutes=settings.escalation_max_measurement_age_minutes)


def sweep_interval(settings: Settings) -> timedelta:
    """The wait between sweeps when nothing more is due (SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS)."""
    return timedelta(seconds=settings.escalation_sweep_interval_seconds)


@dataclass(frozen=True)
class Apis:
    """The servicers of the summary backend's two gRPC services, over one set of stores."""

    summary: SummaryApi
    escalations: EscalationApi


def make_api(
    store: SummaryStore,
    settings: Settings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    facts: FactsSource | None = None,
) -> Apis:
    """The apis over the summary database's stores: one EscalationStore (the acknowledge-within
    times in force) shared by RecordVitalSigns, the EscalationService and the sweeper. `clock`
    and `facts` (who is responsible for a patient; the responsibility store's when None): tests
    inject them."""
    escalation = Escalation(
        EscalationStore(store.sessions, acknowledge_within(settings)),
        ResponsibilityStore(store.sessions),
        max_measurement_age(settings),
    )
    wakeups = Wakeups(
        pg_notify.listen_url(settings.session_database_url("summary")),
        inbox.CHANNEL,
        (inbox.SEQUENCE,),
        "escalation-listener",
        settings.database.password_file,
    )
    # Synthetic test persons exist only in development; production refuses them at the edge.
    allow_synthetic = not settings.production
    return Apis(
        SummaryApi(store, escalation, allow_synthetic=allow_synthetic, clock=clock, wakeups=wakeups),
        EscalationApi(
            store,
            escalation,
            inbox.EscalationInboxStore(store.sessions),
            wakeups,
            allow_synthetic=allow_synthetic,
            facts=facts,
            clock=clock,
            signals=EscalationSignalStore(store.sessions),
        ),
    )


def sweeper(apis: Apis, settings: Settings) -> list[BackgroundWork]:
    """The escalation sweeper, on every replica (each claims free episodes: docs/escalation.md)."""
    api = apis.summary
    sweep = EscalationSweeper(api.escalation.episodes, clock=api.clock, interval=sweep_interval(settings))
    return [BackgroundWork("escalation-sweeper", sweep.run)]


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
    make_store=SummaryStore,
    make_api=make_api,
    load_seeds=lambda store, settings: seed.seed(store, settings.seeds_dir),
    background=sweeper,
)
