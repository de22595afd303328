"""kill -9 of the summary process before an escalation's deadline (docs/escalation.md, "Store and
sweeper"): a real `samhandling serve summary` with acknowledge-within times of one minute (the
settings) records a measurement that opens an URGENT_REVIEW episode, is killed without warning
well before the deadline and started again. The timer survived the crash as a row; a sweep at a
time past the deadline (`sweep_once(now)`, run from the test against the same database while the
restarted process sweeps too on its own clock) fires it exactly once: one TIMEOUT event, one
delivery to the target it adds (the legevakt), and a second sweep changes nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.platform.db import make_engine, make_sessions
from services.platform.settings import Settings
from services.summary.escalation_episodes import EventKind, NotifyReason, TimerKind
from services.summary.escalation_rules import Level
from services.summary.escalation_store import EscalationStore
from services.summary.escalation_sweeper import EscalationSweeper
from services.summary.main import BACKEND, acknowledge_within
from tests.fixtures import people
from tests.fixtures.escalation import HOME_NURSING, LEGEVAKT, vital_signs_input
from tests.fixtures.postgres import free_port
from tests.fixtures.processes import serve_process
from tests.support import BindsAssertions, asserted, settings_for

START_SECONDS = 60.0  # bound on the process coming up on a loaded machine
ONE_MINUTE = {
    f"SAMHANDLING_ESCALATION_ACKNOWLEDGE_{level}_MINUTES": "1"
    for level in ("REVIEW", "URGENT_REVIEW", "URGENT", "EMERGENCY")
}
HOSPITAL = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM, client_id="demo-hospital", orgnr_parent="910000071", orgnr_child="910000098"
)


class SummaryProcess:
    """`samhandling serve summary` on a port of its own, started again after each kill."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.address = f"127.0.0.1:{free_port()}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = serve_process(
            "summary",
            self.settings,
            self.address,
            self.log,
            extra_env=ONE_MINUTE,
            without_env=("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        )

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, "the summary process died by itself"
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def summary(tmp_path) -> Iterator[SummaryProcess]:
    settings = settings_for(tmp_path, summary=f"sqlite:///{tmp_path / 'summary.db'}")
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    process = SummaryProcess(settings, tmp_path / "summary.log")
    try:
        yield process
    finally:
        process.stop()


async def record(summary: SummaryProcess, record_id: str, signs: summary_pb2.VitalSigns):
    settings = summary.settings
    async with grpc.aio.insecure_channel(
        summary.address, interceptors=BindsAssertions(settings).interceptors()
    ) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=START_SECONDS)
        return await summary_pb2_grpc.PatientSummaryServiceStub(channel).RecordVitalSigns(
            summary_pb2.RecordVitalSignsRequest(patient_id=people.ESKIL, source_record_id=record_id, vital_signs=signs),
            metadata=asserted(
                settings,
                "summary",
                "/samhandling.summary.v1.PatientSummaryService/RecordVitalSigns",
                actor=HOSPITAL,
                patient_id=people.ESKIL,
                data_categories=(common_pb2.DATA_CATEGORY_VITAL_SIGNS,),
            ),
        )


async def test_a_timer_survives_kill_9_and_fires_exactly_once_after_the_restart(summary):
    summary.start()
    # A 3 in one parameter (total 3): URGENT_REVIEW to home nursing, then the legevakt on timeout.
    signs = vital_signs_input(datetime.now(UTC) - timedelta(minutes=1), 3, red=True)
    answer = await record(summary, "kill-1", signs)
    engine = make_engine(summary.settings.database_url("summary"))
    try:
        # The process's settings: a sweep from here extends the chain as the process would.
        store = EscalationStore(make_sessions(engine), acknowledge_within(Settings.from_env(ONE_MINUTE)))
        opened = store.open_episode(people.ESKIL)
        assert opened is not None and opened.level is Level.URGENT_REVIEW
        assert answer.escalation_id == opened.episode_id
        assert [t.orgnr for t in opened.targets] == [HOME_NURSING] and [t.orgnr for t in opened.pending] == [LEGEVAKT]
        (timer,) = store.timers(opened.episode_id)
        assert timer.kind is TimerKind.ACKNOWLEDGE
        assert timer.due_at == opened.opened_at + timedelta(minutes=1)  # the setting, not the 30 min default

        summary.kill()  # well before the deadline: nothing has fired
        assert datetime.now(UTC) < timer.due_at, "the machine was too slow to kill before the deadline"
        assert store.timers(opened.episode_id) == [timer]  # the timer is a row: it survived

        summary.start()  # its sweeper runs on the real clock, beside the test's sweep below
        retry = await record(summary, "kill-1", signs)  # serving again; a retry changes nothing
        assert (retry.created, retry.measurement_id, retry.escalation_id) == (
            False,
            answer.measurement_id,
            answer.escalation_id,
        )

        sweeper = EscalationSweeper(store)
        after_deadline = timer.due_at + timedelta(seconds=1)
        sweeper.sweep_once(after_deadline)
        assert sweeper.sweep_once(after_deadline) == []  # nothing due is left
        fired = store.get(opened.episode_id)
        assert [e.kind for e in fired.events].count(EventKind.TIMEOUT) == 1
        assert [t.orgnr for t in fired.targets] == [HOME_NURSING, LEGEVAKT] and fired.pending == ()
        timeouts = [d.notify for d in store.deliveries(opened.episode_id) if d.notify.reason is NotifyReason.TIMEOUT]
        assert [(n.orgnr, n.level) for n in timeouts] == [(LEGEVAKT, Level.URGENT_REVIEW)]
        # The legevakt's own deadline is a new timer, a minute after the firing (the test's sweep,
        # or the restarted process's own had the machine been slow enough to reach the deadline).
        (fired_at,) = [e.at for e in fired.events if e.kind is EventKind.TIMEOUT]
        assert [(t.kind, t.due_at) for t in store.timers(opened.episode_id)] == [
            (TimerKind.ACKNOWLEDGE, fired_at + timedelta(minutes=1))
        ]
    finally:
        engine.dispose()
