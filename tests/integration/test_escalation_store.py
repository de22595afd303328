"""The escalation store and sweeper on SQLite and real PostgreSQL (docs/escalation.md, "Store and
sweeper"): every transition through the store, saved and loaded back as the same episode with its
effects as rows; repeats that change nothing; a transition failing mid-way leaving nothing; two
stores (two engines: two replicas) sweeping the same due timers at once firing each exactly once;
the migration from 0003 and `samhandling migrate summary` to head. The clock is injected: every
sweep is an explicit `sweep_once(now)`."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.platform.db import alembic_config, make_engine, make_sessions
from services.platform.errors import ServiceError
from services.platform.settings import REPO_ROOT
from services.summary import escalation_store
from services.summary.escalation_episodes import (
    EventKind,
    Notify,
    NotifyReason,
    Outcome,
    RecorderMessage,
    SetTimer,
    State,
    TellRecorder,
    TimerKind,
    Transition,
)
from services.summary.escalation_routing import TargetRole
from services.summary.escalation_rules import AcknowledgeWithin, Evaluation, Level, evaluate
from services.summary.escalation_store import EscalationStore, StaleEpisode
from services.summary.escalation_sweeper import EscalationSweeper
from services.summary.main import BACKEND
from services.summary.models import (
    EscalationDeliveryRow,
    EscalationEpisodeRow,
    EscalationEventRow,
    EscalationRecorderMessageRow,
    EscalationTimerRow,
)
from services.summary.trend import TrendPoint
from tests.fixtures import people
from tests.fixtures.escalation import (
    FOLLOW_UP_TEAM,
    HOME_NURSING,
    LEGEVAKT,
    PATIENT,
    PATIENT_BORN,
    RECORDER,
    T0,
    actor,
    measurement,
    minutes,
    routes,
)
from tests.support import settings_for

WITHIN = AcknowledgeWithin()
# Every person of seeds/patients.json (the episodes table refers to the patients table).
SEEDED_PATIENTS = people.PATIENTS
ESCALATION_TABLES = (
    "escalation_episodes",
    "escalation_targets",
    "escalation_events",
    "escalation_measurements",
    "escalation_timers",
    "escalation_deliveries",
    "escalation_recorder_messages",
)


def numbered_ids(prefix: str) -> Iterator[str]:
    return (f"{prefix}{n}" for n in itertools.count(1))


@dataclass
class Replica:
    engine: Engine
    store: EscalationStore
    sweeper: EscalationSweeper


def replica(url: str, prefix: str = "e", batch: int = 100) -> Replica:
    engine = make_engine(url)
    ids = numbered_ids(prefix)
    store = EscalationStore(make_sessions(engine), WITHIN, new_id=lambda: next(ids))
    return Replica(engine, store, EscalationSweeper(store, clock=lambda: T0, batch=batch))


@pytest.fixture
def summary_url(tmp_path, db_url) -> str:
    settings = settings_for(tmp_path, summary=db_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    return str(db_url)


@pytest.fixture
def one(summary_url) -> Iterator[Replica]:
    r = replica(summary_url)
    yield r
    r.engine.dispose()


class Measurements:
    """One patient's measurements, evaluated as RecordVitalSigns will (each against the others)."""

    def __init__(self, store: EscalationStore, patient: str = PATIENT) -> None:
        self.store = store
        self.patient = patient
        self.points: list[TrendPoint] = []
        self.count = 0

    def evaluation(self, at: datetime, total: int, red: bool) -> tuple[str, Evaluation]:
        self.count += 1
        m = measurement(at, total, red=red, mid=f"{self.patient}-m{self.count}")
        evaluation = evaluate(m, PATIENT_BORN, self.points)
        assert evaluation.result is not None
        self.points.append(TrendPoint(at, evaluation.result.total))
        return m.measurement_id, evaluation

    def record(
        self,
        at: datetime,
        total: int,
        *,
        red: bool = False,
        now: datetime | None = None,
        mid: str = "",
        evaluation: Evaluation | None = None,
    ) -> Transition:
        new_mid, new_evaluation = self.evaluation(at, total, red)
        self.last = (new_mid, new_evaluation)
        return record_evaluated(
            self.store,
            mid or new_mid,
            evaluation or new_evaluation,
            measured_at=at,
            now=now or at,
            patient=self.patient,
        )


def record_evaluated(
    store: EscalationStore,
    mid: str,
    evaluation: Evaluation,
    *,
    measured_at: datetime,
    now: datetime,
    routed_at: datetime | None = None,
    patient: str = PATIENT,
) -> Transition:
    """`store.record_measurement` for a measurement recorded at RECORDER, routed at `routed_at` (else `now`)."""
    return store.record_measurement(
        patient,
        measurement_id=mid,
        measured_at=measured_at,
        evaluation=evaluation,
        source_orgnr=RECORDER,
        routes=routes(routed_at or now),
        now=now,
    )


def notified(transition: Transition) -> dict[str, Notify]:
    return {e.orgnr: e for e in transition.effects if isinstance(e, Notify)}


def told(transition: Transition) -> list[RecorderMessage]:
    return [e.message for e in transition.effects if isinstance(e, TellRecorder)]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: int(connection.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in ESCALATION_TABLES}


def refused(code: grpc.StatusCode, reason: str, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as caught:
        call()
    assert (caught.value.code, caught.value.reason) == (code, reason)


def test_open_append_upgrade_acknowledge_and_auto_resolve_through_the_store(one):
    store, patient = one.store, Measurements(one.store)
    patient.record(T0 - timedelta(hours=2), 0)  # a baseline: opens nothing, stores nothing
    assert counts(one.engine)["escalation_episodes"] == 0

    opened = patient.record(T0, 5)  # URGENT: home nursing and the legevakt, the follow-up team informed
    episode = opened.episode
    assert episode is not None and (episode.level, episode.state) == (Level.URGENT, State.OPEN)
    e1 = episode.episode_id
    assert store.get(e1) == episode  # saved and loaded back as the same value
    assert store.open_episode(PATIENT) == episode
    assert {o: (n.role, n.reason) for o, n in notified(opened).items()} == {
        HOME_NURSING: (TargetRole.RESPONSIBLE, NotifyReason.OPENED),
        LEGEVAKT: (TargetRole.RESPONSIBLE, NotifyReason.OPENED),
        FOLLOW_UP_TEAM: (TargetRole.INFORMED, NotifyReason.OPENED),
    }
    # The effects are rows: one inbox row per notification, the timer, the recorder's message.
    assert [d.notify for d in store.deliveries(e1)] == [e for e in opened.effects if isinstance(e, Notify)]
    assert (
        store.timers(e1)
        == [e.timer for e in opened.effects if isinstance(e, SetTimer)]
        == [episode.timer(TimerKind.ACKNOWLEDGE)]
    )
    assert [n.tell for n in store.recorder_messages(e1)] == [e for e in opened.effects if isinstance(e, TellRecorder)]
    assert told(opened) == [RecorderMessage.SENT]

    appended = patient.record(T0 + minutes(5), 6)  # the same level: appended, nobody told
    assert appended.effects == () and appended.episode is not None
    assert [m.measurement_id for m in appended.episode.measurements] == [f"{PATIENT}-m2", f"{PATIENT}-m3"]
    assert store.get(e1) == appended.episode and len(store.deliveries(e1)) == 3

    upgraded = patient.record(T0 + minutes(8), 7)  # EMERGENCY: everyone told again, 113 first
    assert upgraded.episode is not None and upgraded.episode.level is Level.EMERGENCY
    assert {n.reason for n in notified(upgraded).values()} == {NotifyReason.UPGRADED}
    assert told(upgraded) == [RecorderMessage.PHONE_113]
    assert store.get(e1) == upgraded.episode
    (timer,) = store.timers(e1)
    assert timer.due_at == T0 + minutes(8) + WITHIN.emergency and timer.sequence == 2

    acknowledged = store.acknowledge(e1, actor=actor(LEGEVAKT), request_id="ack-1", now=T0 + minutes(10))
    assert acknowledged.episode is not None and acknowledged.episode.state is State.ACKNOWLEDGED
    assert acknowledged.episode.acknowledgement is not None
    assert store.get(e1) == acknowledged.episode
    assert [t.kind for t in store.timers(e1)] == [TimerKind.AUTO_RESOLVE]
    assert [n.tell.message for n in store.recorder_messages(e1)][-1] is RecorderMessage.ACKNOWLEDGED

    assert one.sweeper.sweep_once(T0 + minutes(10) + timedelta(hours=24) - timedelta(seconds=1)) == []
    (fired,) = one.sweeper.sweep_once(T0 + minutes(10) + timedelta(hours=24))
    resolved = store.get(e1)
    assert fired.transition.episode == resolved and fired.timer.kind is TimerKind.AUTO_RESOLVE
    assert resolved.state is State.RESOLVED and resolved.resolution is not None
    assert resolved.resolution.outcome is Outcome.AUTO_NO_WORSENING
    assert store.timers(e1) == [] and store.open_episode(PATIENT) is None

    # The patient's next episode opens beside the resolved one (one open per patient).
    again = patient.record(T0 + timedelta(days=2), 7)
    assert again.episode is not None and again.episode.episode_id != e1
    assert store.open_episode(PATIENT) == again.episode and store.get(e1) == resolved


def test_decline_passes_it_on_and_timeouts_move_up_the_chain_until_exhausted(one):
    store, patient = one.store, Measurements(one.store)
    # URGENT_REVIEW on a Wednesday morning: the open follow-up team first, then the legevakt.
    opened = patient.record(T0, 3, red=True)
    assert set(notified(opened)) == {FOLLOW_UP_TEAM}
    declined = store.decline(
        "e1", actor=actor(FOLLOW_UP_TEAM), reason="Ingen kapasitet nå", request_id="d-1", now=T0 + minutes(5)
    )
    assert {o: n.reason for o, n in notified(declined).items()} == {LEGEVAKT: NotifyReason.PASSED_ON}
    assert store.get("e1") == declined.episode
    (timer,) = store.timers("e1")
    assert timer.due_at == T0 + minutes(5) + WITHIN.urgent_review

    # The legevakt does not answer either: the chain is exhausted, the recorder told to phone.
    assert one.sweeper.sweep_once(timer.due_at - timedelta(microseconds=1)) == []
    (fired,) = one.sweeper.sweep_once(timer.due_at)
    exhausted = store.get("e1")
    assert fired.transition.episode == exhausted
    assert exhausted.chain_exhausted and exhausted.state is State.OPEN  # never closed unacknowledged
    assert [e.kind for e in exhausted.events][-2:] == [EventKind.TIMEOUT, EventKind.CHAIN_EXHAUSTED]
    assert [n.tell.message for n in store.recorder_messages("e1")][-1] is RecorderMessage.PHONE_LEGEVAKT
    assert store.timers("e1") == []
    assert one.sweeper.sweep_once(timer.due_at + timedelta(hours=1)) == []


def test_a_timeout_adds_the_next_target_and_the_reassessment_reminds_the_planner(one):
    store, patient = one.store, Measurements(one.store)
    patient.record(T0, 3, red=True)
    deadline = T0 + WITHIN.urgent_review
    (fired,) = one.sweeper.sweep_once(deadline)
    assert {o: n.reason for o, n in notified(fired.transition).items()} == {LEGEVAKT: NotifyReason.TIMEOUT}
    assert [e.kind for e in store.get("e1").events] == [EventKind.OPENED, EventKind.TIMEOUT]
    (timer,) = store.timers("e1")
    assert (timer.kind, timer.due_at, timer.sequence) == (TimerKind.ACKNOWLEDGE, deadline + WITHIN.urgent_review, 2)

    now = deadline + minutes(3)
    store.acknowledge("e1", actor=actor(LEGEVAKT), request_id="a-1", now=now)
    planned = store.plan_reassessment(
        "e1",
        actor=actor(LEGEVAKT),
        reassess_at=now + timedelta(hours=2),
        note="Ny måling etter lunsj",
        request_id="p-1",
        now=now,
    )
    assert planned.episode is not None and planned.episode.state is State.REASSESSMENT_PLANNED
    # The plan holds the episode open: no auto-resolution until it is due, then 24 h from then.
    assert {t.kind for t in store.timers("e1")} == {TimerKind.REASSESSMENT}
    (due,) = one.sweeper.sweep_once(now + timedelta(hours=2))
    assert due.timer.kind is TimerKind.REASSESSMENT
    assert {o: n.reason for o, n in notified(due.transition).items()} == {LEGEVAKT: NotifyReason.REASSESSMENT_DUE}
    assert store.get("e1").state is State.ACKNOWLEDGED
    (rearmed,) = store.timers("e1")
    assert (rearmed.kind, rearmed.due_at) == (TimerKind.AUTO_RESOLVE, now + timedelta(hours=26))
    assert [d.notify.reason for d in store.deliveries("e1")][-1] is NotifyReason.REASSESSMENT_DUE

    resolved = store.resolve(
        "e1",
        actor=actor(LEGEVAKT),
        outcome=Outcome.MANAGED_IN_PLACE,
        note="",
        request_id="r-1",
        now=now + timedelta(hours=3),
    )
    assert resolved.episode is not None and resolved.episode.state is State.RESOLVED
    assert store.get("e1") == resolved.episode and store.timers("e1") == []


def test_a_repeated_transition_changes_nothing(one):
    store, patient = one.store, Measurements(one.store)
    first = patient.record(T0, 5)
    before = counts(one.engine)
    # The same measurement again: nothing (no notification, no new row, the version unchanged).
    mid, evaluation = patient.last
    repeat = record_evaluated(store, mid, evaluation, measured_at=T0, now=T0 + minutes(1), routed_at=T0)
    assert repeat == Transition(first.episode) and counts(one.engine) == before
    with one.engine.connect() as connection:
        assert connection.scalar(select(EscalationEpisodeRow.version)) == 1

    acknowledged = store.acknowledge("e1", actor=actor(LEGEVAKT), request_id="ack-1", now=T0 + minutes(2))
    after_ack = counts(one.engine)
    again = store.acknowledge("e1", actor=actor(LEGEVAKT), request_id="ack-1", now=T0 + minutes(4))
    assert again == Transition(acknowledged.episode) and counts(one.engine) == after_ack
    refused(
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
        lambda: store.decline("e1", actor=actor(LEGEVAKT), reason="nei", request_id="ack-1", now=T0 + minutes(5)),
    )

    # A timer the episode no longer holds (the acknowledgement cancelled it) fires to no effect.
    stale = first.episode.timer(TimerKind.ACKNOWLEDGE) if first.episode else None
    assert stale is not None
    assert store.fire_timer(stale, now=stale.due_at) == Transition(acknowledged.episode)
    assert counts(one.engine) == after_ack

    # Once resolved, the same measurement and the same concern find their episode and change nothing.
    store.resolve(
        "e1", actor=actor(LEGEVAKT), outcome=Outcome.NO_ACTION_NEEDED, note="", request_id="r-1", now=T0 + minutes(6)
    )
    resolved = store.get("e1")
    later = T0 + minutes(7)
    assert record_evaluated(store, mid, evaluation, measured_at=T0, now=later) == Transition(resolved)

    def concern_c1(level: Level, now: datetime) -> Transition:
        """The same concern request ("c-1") at `level`, sent at `now`."""
        return store.raise_concern(
            PATIENT,
            actor=actor(HOME_NURSING),
            level=level,
            note="Virker slapp",
            request_id="c-1",
            routes=routes(later),
            now=now,
        )

    concern = concern_c1(Level.URGENT, later)
    assert concern.episode is not None and concern.episode.episode_id == "e2"
    store.resolve(
        "e2",
        actor=actor(HOME_NURSING),
        outcome=Outcome.NO_ACTION_NEEDED,
        note="",
        request_id="r-2",
        now=later + minutes(1),
    )
    settled = counts(one.engine)
    repeat_concern = concern_c1(Level.URGENT, later + minutes(2))
    assert repeat_concern == Transition(store.get("e2")) and counts(one.engine) == settled
    refused(
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
        lambda: concern_c1(Level.EMERGENCY, later + minutes(2)),
    )


def test_a_transition_that_fails_mid_way_leaves_nothing(one, monkeypatch):
    store, patient = one.store, Measurements(one.store)
    empty = counts(one.engine)

    def broken(*_args: object) -> None:
        raise RuntimeError("the disk is full")

    # Opening fails while delivering its notifications, after the episode, events and timer were written.
    monkeypatch.setattr(escalation_store, "_deliver", broken)
    with pytest.raises(RuntimeError):
        patient.record(T0, 5)
    assert counts(one.engine) == empty
    monkeypatch.undo()

    opened = patient.record(T0 + minutes(1), 5)
    saved = counts(one.engine)
    # Acknowledging fails while telling the recorder, after the state, event and timers were saved.
    monkeypatch.setattr(escalation_store, "_tell_recorder", broken)
    with pytest.raises(RuntimeError):
        store.acknowledge(
            opened.episode.episode_id if opened.episode else "",
            actor=actor(LEGEVAKT),
            request_id="a-1",
            now=T0 + minutes(2),
        )
    assert counts(one.engine) == saved and store.get("e2") == opened.episode
    with one.engine.connect() as connection:
        assert (
            connection.scalar(select(EscalationEpisodeRow.version).where(EscalationEpisodeRow.episode_id == "e2")) == 1
        )


def test_one_open_episode_per_patient_is_held_by_the_database(one):
    patient = Measurements(one.store)
    patient.record(T0, 5)
    row = {c: v for c, v in _episode_columns(one.engine, "e1").items() if c != "episode_id"}
    with pytest.raises(IntegrityError), one.engine.begin() as connection:
        connection.execute(EscalationEpisodeRow.__table__.insert().values(episode_id="x", **row))
    with one.engine.begin() as connection:  # a resolved one beside the open one is allowed
        connection.execute(
            EscalationEpisodeRow.__table__.insert().values(episode_id="x", **{**row, "state": State.RESOLVED.name})
        )


def _episode_columns(engine: Engine, episode_id: str) -> dict[str, object]:
    with engine.connect() as connection:
        row = (
            connection.execute(
                select(EscalationEpisodeRow.__table__).where(EscalationEpisodeRow.episode_id == episode_id)
            )
            .mappings()
            .one()
        )
    return dict(row)


def test_an_update_that_lost_the_race_is_applied_again_from_a_fresh_load(tmp_path, monkeypatch):
    """Another replica commits between this transaction's load and its save: the version compare
    refuses the save (StaleEpisode), and the transition runs again on what the other one wrote.
    On SQLite, where no row lock holds the episode (PostgreSQL's FOR UPDATE would make the other
    replica wait instead)."""
    url = f"sqlite:///{tmp_path / 'summary.db'}"
    settings = settings_for(tmp_path, summary=url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    a, b = replica(url, "a"), replica(url, "b")
    try:
        Measurements(a.store).record(T0, 5)
        real_acknowledge = escalation_store.acknowledge
        raced: list[int] = []

        def acknowledge_after_a_rival(episode, **kwargs):  # type: ignore[no-untyped-def]
            if not raced:
                raced.append(1)
                b.store.decline(
                    "a1", actor=actor(HOME_NURSING), reason="Sender videre", request_id="d-1", now=T0 + minutes(1)
                )
            return real_acknowledge(episode, **kwargs)

        monkeypatch.setattr(escalation_store, "acknowledge", acknowledge_after_a_rival)
        taken = a.store.acknowledge("a1", actor=actor(LEGEVAKT), request_id="a-1", now=T0 + minutes(2))
        assert taken.episode is not None
        assert [e.kind for e in taken.episode.events] == [EventKind.OPENED, EventKind.DECLINED, EventKind.ACKNOWLEDGED]
        assert a.store.get("a1") == taken.episode
        with a.engine.connect() as connection:
            assert connection.scalar(select(EscalationEpisodeRow.version)) == 3

        # Without the retry the save is refused outright.
        monkeypatch.setattr(escalation_store, "MAX_TRANSITION_ATTEMPTS", 1)
        raced.clear()

        def resolve_after_a_rival(episode, **kwargs):  # type: ignore[no-untyped-def]
            if not raced:
                raced.append(1)
                with b.engine.begin() as connection:
                    connection.execute(update(EscalationEpisodeRow).values(version=EscalationEpisodeRow.version + 1))
            return real_resolve(episode, **kwargs)

        real_resolve = escalation_store.resolve
        monkeypatch.setattr(escalation_store, "resolve", resolve_after_a_rival)
        with pytest.raises(StaleEpisode):
            a.store.resolve(
                "a1",
                actor=actor(LEGEVAKT),
                outcome=Outcome.NO_ACTION_NEEDED,
                note="",
                request_id="r-1",
                now=T0 + minutes(3),
            )
        assert a.store.get("a1").state is State.ACKNOWLEDGED
    finally:
        a.engine.dispose()
        b.engine.dispose()


def test_two_replicas_measuring_one_patient_at_once_open_one_episode(summary_url):
    """Both find no open episode and open one; the database's partial unique index refuses the
    second, which runs again from a fresh load and appends to the first (nobody told twice)."""
    replicas = [replica(summary_url, prefix) for prefix in ("a", "b")]
    try:
        start = threading.Barrier(2)
        evaluation = Measurements(replicas[0].store).evaluation(T0, 5, False)[1]

        def record(r: Replica, mid: str) -> Transition:
            start.wait()
            return record_evaluated(r.store, mid, evaluation, measured_at=T0, now=T0)

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(record, replicas, ["m-a", "m-b"]))
        (episode_id,) = {t.episode.episode_id for t in results if t.episode is not None}
        episode = replicas[1].store.get(episode_id)
        assert sorted(m.measurement_id for m in episode.measurements) == ["m-a", "m-b"]
        assert sorted(len(notified(t)) for t in results) == [0, 3]
        assert len(replicas[0].store.deliveries(episode_id)) == 3
        assert counts(replicas[0].engine)["escalation_episodes"] == 1
    finally:
        for r in replicas:
            r.engine.dispose()


def test_a_read_that_a_save_overtook_reads_again(one, monkeypatch):
    """Unlocked, an episode is read by several statements; a save committing between them would mix
    two states. The version read again at the end sends the read round once more."""
    store = one.store
    opened = Measurements(store).record(T0, 5).episode
    assert opened is not None
    real_event = escalation_store._event
    saved: list[Transition] = []
    raced: list[bool] = []

    def event_then_a_save(row):  # type: ignore[no-untyped-def]
        if not raced:  # after the episode row and its targets were read, before the rest
            raced.append(True)
            saved.append(
                store.acknowledge(opened.episode_id, actor=actor(LEGEVAKT), request_id="a-1", now=T0 + minutes(1))
            )
        return real_event(row)

    monkeypatch.setattr(escalation_store, "_event", event_then_a_save)
    read = store.get(opened.episode_id)
    assert read == saved[0].episode and read.state is State.ACKNOWLEDGED


@pytest.mark.postgres
def test_two_replicas_sweeping_the_same_due_timers_fire_each_exactly_once(tmp_path, postgres_url, caplog):
    settings = settings_for(tmp_path, summary=postgres_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    replicas = [replica(postgres_url, prefix, batch=3) for prefix in ("a", "b")]
    try:
        # Every seeded patient has an URGENT_REVIEW episode: the follow-up team, then the legevakt.
        for patient in SEEDED_PATIENTS:
            Measurements(replicas[0].store, patient).record(T0, 3, red=True)
        first, second = T0 + WITHIN.urgent_review, T0 + 2 * WITHIN.urgent_review

        def sweep_until_done(r: Replica, now: datetime, start: threading.Barrier) -> list[tuple[str, int]]:
            start.wait()
            done: list[tuple[str, int]] = []
            while fired := r.sweeper.sweep_once(now):
                done += [(f.timer.episode_id, f.timer.sequence) for f in fired if f.transition.effects]
            return done

        for now in (first, second):
            start = threading.Barrier(2)
            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(sweep_until_done, replicas, [now] * 2, [start] * 2))
            fired = Counter(itertools.chain.from_iterable(results))
            # A timer that failed to fire is logged by the sweeper (its kind and the error's type).
            failures = [r.getMessage() for r in caplog.records if r.name == "services.summary.escalation_sweeper"]
            assert len(fired) == len(SEEDED_PATIENTS) and set(fired.values()) == {1}, (fired, failures)
            assert failures == []

        with replicas[0].engine.connect() as connection:
            kinds = Counter(connection.execute(select(EscalationEventRow.kind)).scalars())
            phone = connection.scalar(
                select(func.count())
                .select_from(EscalationRecorderMessageRow)
                .where(EscalationRecorderMessageRow.message == RecorderMessage.PHONE_LEGEVAKT.name)
            )
            timeouts = connection.scalar(
                select(func.count())
                .select_from(EscalationDeliveryRow)
                .where(EscalationDeliveryRow.reason == NotifyReason.TIMEOUT.name)
            )
            timers = connection.scalar(select(func.count()).select_from(EscalationTimerRow))
        n = len(SEEDED_PATIENTS)
        assert kinds == {"OPENED": n, "TIMEOUT": 2 * n, "CHAIN_EXHAUSTED": n}
        assert (phone, timeouts, timers) == (n, n, 0)
        for patient_episode in (replicas[1].store.open_episode(p) for p in SEEDED_PATIENTS):
            assert patient_episode is not None and patient_episode.chain_exhausted
    finally:
        for r in replicas:
            r.engine.dispose()


def test_the_migration_runs_up_from_0003_and_down_again(tmp_path, db_url):
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0003")
    engine = make_engine(db_url)
    try:
        assert not set(ESCALATION_TABLES) & set(inspect(engine).get_table_names())
        command.upgrade(config, "0004")
        assert set(ESCALATION_TABLES) <= set(inspect(engine).get_table_names())
        indexes = {i["name"]: i for i in inspect(engine).get_indexes("escalation_episodes")}
        assert indexes["uq_escalation_episodes_open_patient"]["unique"]
        # The inbox and the recorder's messages hold no patient data: the episode id is how to find one.
        columns = {
            t: {c["name"] for c in inspect(engine).get_columns(t)}
            for t in ("escalation_deliveries", "escalation_recorder_messages")
        }
        assert columns == {
            "escalation_deliveries": {
                "id",
                "episode_id",
                "orgnr",
                "role",
                "level",
                "reason",
                "push",
                "deadline",
                "created_at",
            },
            "escalation_recorder_messages": {
                "id",
                "episode_id",
                "orgnr",
                "message",
                "text_nb",
                "text_en",
                "phone_numbers",
                "created_at",
            },
        }
        command.downgrade(config, "0003")
        assert not set(ESCALATION_TABLES) & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_samhandling_migrate_summary_reaches_head(tmp_path, db_url):
    head = ScriptDirectory.from_config(alembic_config(db_url, BACKEND.migrations)).get_current_head()
    assert head == "0009"
    run = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "migrate", "summary"],
        cwd=REPO_ROOT,
        env={**os.environ, "SAMHANDLING_SUMMARY_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head
        assert set(ESCALATION_TABLES) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_timer_that_fails_is_passed_over_and_the_others_fire(one, monkeypatch, caplog):
    episodes = [Measurements(one.store, p).record(T0, 5).episode for p in SEEDED_PATIENTS[:3]]
    broken = episodes[1]
    assert broken is not None
    real_fire_timer = escalation_store.fire_timer

    def fire_timer(episode, timer, **kwargs):  # type: ignore[no-untyped-def]
        if episode.episode_id == broken.episode_id:
            raise RuntimeError("a bug in one episode")
        return real_fire_timer(episode, timer, **kwargs)

    monkeypatch.setattr(escalation_store, "fire_timer", fire_timer)
    fired = one.sweeper.sweep_once(T0 + WITHIN.urgent)
    assert {f.timer.episode_id for f in fired} == {e.episode_id for e in episodes if e is not None} - {
        broken.episode_id
    }
    assert one.store.get(broken.episode_id) == broken  # rolled back, its timer still there for the next sweep
    assert one.store.timers(broken.episode_id) == list(broken.timers)
    (record,) = [r for r in caplog.records if r.name == "services.summary.escalation_sweeper"]
    assert record.getMessage() == (
        "escalation sweep: a timer of kind ACKNOWLEDGE failed to fire (RuntimeError); passed over in this sweep"
    )
    assert PATIENT not in caplog.text and broken.episode_id not in caplog.text

    monkeypatch.undo()
    (retried,) = one.sweeper.sweep_once(T0 + WITHIN.urgent)
    assert retried.timer.episode_id == broken.episode_id


class RecordedStop(threading.Event):
    """A stop event that records every wait and never blocks (the loop's waits are what is tested)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_the_loop_sweeps_full_batches_at_once_waits_after_the_rest_and_stops_on_its_event(one):
    for p in SEEDED_PATIENTS[:3]:
        Measurements(one.store, p).record(T0, 5)
    stop = RecordedStop()
    times: list[datetime] = []

    def clock() -> datetime:
        times.append(T0 + WITHIN.urgent)
        if len(times) == 4:
            stop.set()  # the fourth sweep is the last
        return times[-1]

    sweeper = EscalationSweeper(one.store, clock=clock, batch=2, interval=timedelta(seconds=7))
    sweeper.run(stop)
    # Sweep 1 fired a full batch (2): at once the next; sweep 2 fired 1, sweep 3 none: each then waited.
    assert len(times) == 4 and stop.waits == [7.0, 7.0, 7.0]
    with one.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(EscalationTimerRow)) == 0
    with pytest.raises(ValueError):
        EscalationSweeper(one.store, batch=0)


def test_the_sweepers_load_reads_a_timer_another_replica_replaced_since_the_claim(tmp_path, postgres_url):
    """The sweeper's claim puts the timer's row in its session; the load that follows must read
    the row again (another replica may have fired the timer and replaced it under the same key,
    episode and kind, in between), never the session's copy, or the timer fires twice. On
    PostgreSQL, where each statement sees what is committed when it runs (a double firing was
    seen once in CI's two-replica sweep before this)."""
    settings = settings_for(tmp_path, summary=postgres_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    a, b = replica(postgres_url, "a"), replica(postgres_url, "b")
    try:
        Measurements(a.store, SEEDED_PATIENTS[0]).record(T0, 3, red=True)  # URGENT_REVIEW: a timer
        sessions = make_sessions(a.engine)
        with sessions.begin() as session:
            (held,) = session.scalars(select(EscalationTimerRow)).all()  # the claim's copy, sequence 1
            fired = b.store.fire_next_due(T0 + WITHIN.urgent_review)  # the other replica fires it, committed
            assert fired is not None and fired.transition.effects and held.sequence == 1
            loaded = escalation_store._load(session, held.episode_id, lock=True)
            assert loaded is not None
            assert [(t.kind, t.sequence) for t in loaded.timers] == [(TimerKind.ACKNOWLEDGE, 2)]
    finally:
        a.engine.dispose()
        b.engine.dispose()
