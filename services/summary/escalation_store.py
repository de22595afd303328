"""Escalation episodes in the database (docs/escalation.md, "Store and sweeper").

Every change is one transaction: load the episode (row-locked on PostgreSQL, `SELECT … FOR
UPDATE`), apply the core's pure transition (escalation_episodes), save the new episode and carry
out its effects (notifications become inbox rows, timers are kept as rows exactly while the
episode holds them, the recorder's messages are rows), and commit. The episode row's `version`
is compared on update as well, so no update is lost even where no row lock exists (SQLite
serialises writers); a transaction that lost the race is run again from a fresh load, at most
MAX_TRANSITION_ATTEMPTS times. A transition the core answers as a repeat (the same measurement
id, request id or timer) writes nothing. Anything that fails rolls the whole transaction back.

Answers are the core's values (`Transition`, `Episode`, `Timer`), never rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.platform.error_reasons import Reason

from .escalation_deliveries import MAX_DELIVERIES_LISTED, Delivery, RecorderNote
from .escalation_episodes import (
    AddedBecause,
    Episode,
    EpisodeTarget,
    Event,
    EventKind,
    MeasurementRef,
    Notify,
    NotifyReason,
    Origin,
    Outcome,
    RecorderMessage,
    Responder,
    State,
    TellRecorder,
    Timer,
    TimerKind,
    Transition,
    acknowledge,
    decline,
    escalation_not_found,
    fire_timer,
    plan_reassessment,
    raise_concern,
    record_measurement,
    resolve,
)
from .escalation_inbox_store import record_change
from .escalation_routing import Routes, Target, TargetKind, TargetRole
from .escalation_rules import AcknowledgeWithin, Evaluation, Level, RecorderText
from .models import (
    EscalationDeliveryRow,
    EscalationEpisodeRow,
    EscalationEventRow,
    EscalationMeasurementRow,
    EscalationRecorderMessageRow,
    EscalationTargetRow,
    EscalationTimerRow,
)
from .vitals import Performer

__all__ = [
    "MAX_TRANSITION_ATTEMPTS",
    "MAX_DELIVERIES_LISTED",
    "Delivery",
    "FiredTimer",
    "EscalationStore",
    "RecorderNote",
    "StaleEpisode",
    "TimerFailed",
    "new_episode_id",
]

# A transition that lost a race with another replica (the version moved on, or the open episode
# was opened meanwhile) is run again from a fresh load this many times at most, then fails.
MAX_TRANSITION_ATTEMPTS = 5

T = TypeVar("T")


class StaleEpisode(Exception):
    """The episode changed between load and save (another replica's transition committed first)."""


class TimerFailed(Exception):
    """Firing this timer failed (its transaction rolled back); the sweeper passes it over."""

    def __init__(self, episode_id: str, kind: str) -> None:
        super().__init__(kind)
        self.key = (episode_id, kind)


@dataclass(frozen=True, slots=True)
class FiredTimer:
    timer: Timer
    transition: Transition


def new_episode_id() -> str:
    return f"esc-{uuid.uuid4().hex}"


class EscalationStore:
    """The episodes of one summary database. `within` are the acknowledge-within times in force
    (a setting); `new_id` names a new episode (tests inject it)."""

    def __init__(
        self, sessions: sessionmaker, within: AcknowledgeWithin, new_id: Callable[[], str] = new_episode_id
    ) -> None:
        self._sessions = sessions
        self._within = within
        self._new_id = new_id

    # --- reads ----------------------------------------------------------------------------------

    def get(self, episode_id: str) -> Episode:
        def attempt() -> Episode | None:
            with self._sessions() as session:
                return _load(session, episode_id)

        episode = _retrying(attempt)
        if episode is None:
            raise escalation_not_found()
        return episode

    def open_episode(self, patient_id: str) -> Episode | None:
        def attempt() -> Episode | None:
            with self._sessions() as session:
                return _load_open(session, patient_id)

        return _retrying(attempt)

    def deliveries(self, episode_id: str) -> list[Delivery]:
        with self._sessions() as session:
            rows = session.scalars(
                select(EscalationDeliveryRow)
                .where(EscalationDeliveryRow.episode_id == episode_id)
                .order_by(EscalationDeliveryRow.id)
                .limit(MAX_DELIVERIES_LISTED)
            ).all()
        return [
            Delivery(
                r.id,
                Notify(
                    r.episode_id,
                    r.orgnr,
                    TargetRole[r.role],
                    Level[r.level],
                    NotifyReason[r.reason],
                    r.push,
                    r.deadline,
                ),
                r.created_at,
            )
            for r in rows
        ]

    def recorder_messages(self, episode_id: str) -> list[RecorderNote]:
        with self._sessions() as session:
            rows = session.scalars(
                select(EscalationRecorderMessageRow)
                .where(EscalationRecorderMessageRow.episode_id == episode_id)
                .order_by(EscalationRecorderMessageRow.id)
                .limit(MAX_DELIVERIES_LISTED)
            ).all()
        return [
            RecorderNote(
                TellRecorder(
                    r.episode_id,
                    r.orgnr,
                    RecorderMessage[r.message],
                    RecorderText(r.text_nb, r.text_en),
                    tuple(p for p in r.phone_numbers.split(",") if p),
                ),
                r.created_at,
            )
            for r in rows
        ]

    def timers(self, episode_id: str) -> list[Timer]:
        with self._sessions() as session:
            rows = session.scalars(select(EscalationTimerRow).where(EscalationTimerRow.episode_id == episode_id)).all()
        return sorted((_timer(r) for r in rows), key=lambda t: t.sequence)

    # --- transitions ------------------------------------------------------------------------------

    def record_measurement(
        self,
        patient_id: str,
        *,
        measurement_id: str,
        measured_at: datetime,
        evaluation: Evaluation,
        source_orgnr: str,
        routes: Routes,
        now: datetime,
    ) -> Transition:
        """A newly stored measurement of the patient: opens, appends to or upgrades the patient's open
        episode. The same measurement id again (even once its episode is resolved) changes nothing."""

        def step(session: Session) -> tuple[Episode | None, Transition]:
            seen = _episode_of_measurement(session, measurement_id)
            if seen is not None:
                return seen, Transition(seen)
            current = _load_open(session, patient_id, lock=True)
            return current, record_measurement(
                current,
                measurement_id=measurement_id,
                measured_at=measured_at,
                evaluation=evaluation,
                new_episode_id=self._new_id(),
                patient_id=patient_id,
                source_orgnr=source_orgnr,
                routes=routes,
                now=now,
                within=self._within,
            )

        return self._apply(step, now)

    def raise_concern(
        self,
        patient_id: str,
        *,
        actor: Responder,
        level: Level,
        note: str,
        request_id: str,
        routes: Routes,
        now: datetime,
    ) -> Transition:
        """A concern by hand. A repeat of one that opened an episode finds that episode by its request id
        (even once resolved) and changes nothing."""

        def step(session: Session) -> tuple[Episode | None, Transition]:
            opened = _episode_of_concern(session, patient_id, actor.orgnr, request_id)
            if opened is not None and opened.state is State.RESOLVED:
                event = next(e for e in opened.events if e.request_id == request_id and e.orgnr == actor.orgnr)
                if (event.kind, event.level, event.person, event.text) != (
                    EventKind.CONCERN,
                    level,
                    actor.person,
                    note,
                ):
                    raise Reason.REQUEST_ID_REUSED.error(
                        "the request_id was used for another change of this escalation"
                    )
                return opened, Transition(opened)
            current = _load_open(session, patient_id, lock=True)
            return current, raise_concern(
                current,
                actor=actor,
                level=level,
                note=note,
                request_id=request_id,
                new_episode_id=self._new_id(),
                patient_id=patient_id,
                routes=routes,
                now=now,
                within=self._within,
            )

        return self._apply(step, now)

    def acknowledge(self, episode_id: str, *, actor: Responder, request_id: str, now: datetime) -> Transition:
        return self._act(episode_id, now, lambda e: acknowledge(e, actor=actor, request_id=request_id, now=now))

    def decline(self, episode_id: str, *, actor: Responder, reason: str, request_id: str, now: datetime) -> Transition:
        return self._act(
            episode_id,
            now,
            lambda e: decline(e, actor=actor, reason=reason, request_id=request_id, now=now, within=self._within),
        )

    def plan_reassessment(
        self, episode_id: str, *, actor: Responder, reassess_at: datetime, note: str, request_id: str, now: datetime
    ) -> Transition:
        return self._act(
            episode_id,
            now,
            lambda e: plan_reassessment(
                e, actor=actor, reassess_at=reassess_at, note=note, request_id=request_id, now=now
            ),
        )

    def resolve(
        self, episode_id: str, *, actor: Responder, outcome: Outcome, note: str, request_id: str, now: datetime
    ) -> Transition:
        return self._act(
            episode_id,
            now,
            lambda e: resolve(e, actor=actor, outcome=outcome, note=note, request_id=request_id, now=now),
        )

    def fire_timer(self, timer: Timer, *, now: datetime) -> Transition:
        """A due timer (the sweeper's step). One the episode no longer holds changes nothing."""
        return self._act(timer.episode_id, now, lambda e: fire_timer(e, timer, now=now, within=self._within))

    def fire_next_due(self, now: datetime, passed_over: Collection[tuple[str, str]] = ()) -> FiredTimer | None:
        """The sweeper's step, one transaction: claim the earliest timer due at `now` whose episode no
        other transaction holds (PostgreSQL: `FOR UPDATE OF escalation_episodes SKIP LOCKED`, so two
        replicas never wait on nor take the same episode; SQLite serialises writers), fire it through
        the core and save. None when nothing due is free. `passed_over` (episode id, kind) are left
        out (the sweeper's failures within one sweep). A timer row the episode no longer holds is
        removed; the core's idempotency makes a second firing of any timer change nothing."""

        def attempt() -> FiredTimer | None:
            with self._sessions.begin() as session:
                query = (
                    select(EscalationTimerRow)
                    .join(EscalationEpisodeRow, EscalationEpisodeRow.episode_id == EscalationTimerRow.episode_id)
                    .where(EscalationTimerRow.due_at <= now)
                    .order_by(EscalationTimerRow.due_at, EscalationTimerRow.episode_id)
                    .limit(1 + len(passed_over))
                    .with_for_update(of=EscalationEpisodeRow, skip_locked=True)
                )
                rows = [r for r in session.scalars(query).all() if (r.episode_id, r.kind) not in passed_over]
                if not rows:
                    return None
                timer = _timer(rows[0])
                before = _load(session, timer.episode_id, lock=True)
                assert before is not None  # the join found it, and its row is locked
                try:
                    transition = fire_timer(before, timer, now=now, within=self._within)
                    _save(session, before, transition, now)
                except (StaleEpisode, IntegrityError):
                    raise
                except Exception as exc:
                    raise TimerFailed(timer.episode_id, timer.kind.name) from exc
                if transition.episode == before:  # not the episode's timer: a stale row
                    session.execute(
                        delete(EscalationTimerRow).where(
                            EscalationTimerRow.episode_id == timer.episode_id,
                            EscalationTimerRow.kind == timer.kind.name,
                            EscalationTimerRow.sequence == timer.sequence,
                        )
                    )
                return FiredTimer(timer, transition)

        return _retrying(attempt)

    # --- one transaction per transition -------------------------------------------------------------

    def _act(self, episode_id: str, now: datetime, change: Callable[[Episode], Transition]) -> Transition:
        def step(session: Session) -> tuple[Episode | None, Transition]:
            episode = _load(session, episode_id, lock=True)
            if episode is None:
                raise escalation_not_found()
            return episode, change(episode)

        return self._apply(step, now)

    def _apply(self, step: Callable[[Session], tuple[Episode | None, Transition]], now: datetime) -> Transition:
        return _retrying(lambda: self._once(step, now))

    def _once(self, step: Callable[[Session], tuple[Episode | None, Transition]], now: datetime) -> Transition:
        with self._sessions.begin() as session:
            before, transition = step(session)
            _save(session, before, transition, now)
            return transition


def _retrying(attempt: Callable[[], T]) -> T:
    for remaining in range(MAX_TRANSITION_ATTEMPTS - 1, -1, -1):
        try:
            return attempt()
        except (StaleEpisode, IntegrityError):
            # IntegrityError: another replica opened the patient's episode (the partial unique index)
            # or saved the same rows first; a fresh load sees what it did.
            if remaining == 0:
                raise
    raise AssertionError("unreachable")


# --- saving ---------------------------------------------------------------------------------------


def _save(session: Session, before: Episode | None, transition: Transition, now: datetime) -> None:
    """The new episode and its effects, in the caller's transaction. Nothing when nothing changed."""
    after = transition.episode
    if after is None or (after == before and not transition.effects):
        return
    if before is not None and before.episode_id != after.episode_id:
        before = None  # a resolved episode stays; a new one opened
    if before is None:
        session.add(_episode_row(after, version=1))
        session.flush()
    else:
        result = session.execute(
            update(EscalationEpisodeRow)
            .where(
                EscalationEpisodeRow.episode_id == after.episode_id,
                EscalationEpisodeRow.version == _version(session, before),
            )
            .values(**_episode_values(after), version=EscalationEpisodeRow.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleEpisode(after.episode_id)
    _save_targets(session, before, after)
    _save_events(session, before, after)
    _save_measurements(session, before, after)
    _save_timers(session, before, after)
    for effect in transition.effects:
        if isinstance(effect, Notify):
            _deliver(session, effect, now)
        elif isinstance(effect, TellRecorder):
            _tell_recorder(session, effect, now)
        # SetTimer and CancelTimer: the timers rows follow the episode's timers (above).
    # Last: the change's position, under the sequence head's lock held to commit (escalation_inbox_store).
    record_change(session, after.episode_id, now)


_VERSIONS = "escalation_versions"


def _version(session: Session, episode: Episode) -> int:
    """The version the episode was loaded at (kept in the session's info by _load)."""
    return int(session.info[_VERSIONS][episode.episode_id])


def _episode_values(e: Episode) -> dict[str, object]:
    return {
        "source_orgnr": e.source_orgnr,
        "origin": e.origin.name,
        "level": e.level.name,
        "state": e.state.name,
        "rules_version": e.rules_version,
        "opened_at": e.opened_at,
        "deadline": e.deadline,
        "chain_exhausted": e.chain_exhausted,
        "undeliverable": e.undeliverable,
        "timer_sequence": e.timer_sequence,
        "measurements_left_out": e.measurements_left_out,
        "newest_measured_at": e.newest_measured_at,
        "below_trigger_since_ack": e.below_trigger_since_ack,
        "acknowledgement_seq": _event_seq(e, e.acknowledgement),
        "resolution_seq": _event_seq(e, e.resolution),
    }


def _episode_row(e: Episode, version: int) -> EscalationEpisodeRow:
    return EscalationEpisodeRow(episode_id=e.episode_id, patient_id=e.patient_id, version=version, **_episode_values(e))


def _event_seq(episode: Episode, event: Event | None) -> int | None:
    """The position of the acknowledgement or resolution among the events (the core adds it there)."""
    if event is None:
        return None
    for seq in range(len(episode.events) - 1, -1, -1):
        if episode.events[seq] == event:
            return seq
    raise AssertionError("an acknowledgement or resolution is one of the episode's events")


def _save_targets(session: Session, before: Episode | None, after: Episode) -> None:
    if before is not None and (before.targets, before.pending) == (after.targets, after.pending):
        return
    if before is not None:
        session.execute(delete(EscalationTargetRow).where(EscalationTargetRow.episode_id == after.episode_id))
    session.add_all(
        [
            *(
                EscalationTargetRow(
                    episode_id=after.episode_id,
                    pending=False,
                    position=i,
                    orgnr=t.orgnr,
                    kind=t.target.kind.name,
                    role=t.target.role.name,
                    added_at=t.added_at,
                    added_because=t.added_because.name,
                    last_notified_at=t.last_notified_at,
                    declined=t.declined,
                )
                for i, t in enumerate(after.targets)
            ),
            *(
                EscalationTargetRow(
                    episode_id=after.episode_id,
                    pending=True,
                    position=i,
                    orgnr=t.orgnr,
                    kind=t.kind.name,
                    role=t.role.name,
                    added_at=None,
                    added_because=None,
                    last_notified_at=None,
                    declined=False,
                )
                for i, t in enumerate(after.pending)
            ),
        ]
    )


def _save_events(session: Session, before: Episode | None, after: Episode) -> None:
    kept = () if before is None else before.events
    if after.events[: len(kept)] != kept:
        raise AssertionError("an episode's events are only ever appended")
    session.add_all(
        _event_row(after.episode_id, seq, event) for seq, event in enumerate(after.events) if seq >= len(kept)
    )


def _event_row(episode_id: str, seq: int, e: Event) -> EscalationEventRow:
    return EscalationEventRow(
        episode_id=episode_id,
        seq=seq,
        kind=e.kind.name,
        at=e.at,
        level=e.level.name,
        orgnr=e.orgnr,
        hpr_number=None if e.person is None else e.person.hpr_number,
        person_name=None if e.person is None else e.person.name,
        request_id=e.request_id,
        text=e.text,
        outcome=None if e.outcome is None else e.outcome.name,
        planned_for=e.planned_for,
    )


def _save_measurements(session: Session, before: Episode | None, after: Episode) -> None:
    old = {} if before is None else {m.measurement_id: m for m in before.measurements}
    new = {m.measurement_id: m for m in after.measurements}
    gone = [mid for mid, m in old.items() if new.get(mid) != m]
    if gone:
        session.execute(
            delete(EscalationMeasurementRow).where(
                EscalationMeasurementRow.episode_id == after.episode_id,
                EscalationMeasurementRow.measurement_id.in_(gone),
            )
        )
    # Arrival numbers continue the count of every measurement the episode has seen, so that ties of
    # measured time load in the order the core keeps them (a stable sort by measured time).
    arrival = 0 if before is None else before.measurements_left_out + len(before.measurements)
    added = [m for mid, m in new.items() if old.get(mid) != m]
    session.add_all(
        EscalationMeasurementRow(
            episode_id=after.episode_id,
            measurement_id=m.measurement_id,
            measured_at=m.measured_at,
            arrival=arrival + i,
            level=None if m.level is None else m.level.name,
        )
        for i, m in enumerate(added)
    )


def _save_timers(session: Session, before: Episode | None, after: Episode) -> None:
    old = set(() if before is None else before.timers)
    new = set(after.timers)
    for timer in old - new:
        session.execute(
            delete(EscalationTimerRow).where(
                EscalationTimerRow.episode_id == timer.episode_id, EscalationTimerRow.kind == timer.kind.name
            )
        )
    if old - new:
        session.flush()
    session.add_all(
        EscalationTimerRow(episode_id=t.episode_id, kind=t.kind.name, sequence=t.sequence, due_at=t.due_at)
        for t in new - old
    )


def _deliver(session: Session, notify: Notify, now: datetime) -> None:
    session.add(
        EscalationDeliveryRow(
            episode_id=notify.episode_id,
            orgnr=notify.orgnr,
            role=notify.role.name,
            level=notify.level.name,
            reason=notify.reason.name,
            push=notify.push,
            deadline=notify.deadline,
            created_at=now,
        )
    )


def _tell_recorder(session: Session, tell: TellRecorder, now: datetime) -> None:
    session.add(
        EscalationRecorderMessageRow(
            episode_id=tell.episode_id,
            orgnr=tell.orgnr,
            message=tell.message.name,
            text_nb=tell.text.nb,
            text_en=tell.text.en,
            phone_numbers=",".join(tell.phone_numbers),
            created_at=now,
        )
    )


# --- loading --------------------------------------------------------------------------------------


def _load_open(session: Session, patient_id: str, *, lock: bool = False) -> Episode | None:
    query = select(EscalationEpisodeRow.episode_id).where(
        EscalationEpisodeRow.patient_id == patient_id, EscalationEpisodeRow.state != State.RESOLVED.name
    )
    episode_id = session.scalar(query)
    return None if episode_id is None else _load(session, episode_id, lock=lock)


def _episode_of_measurement(session: Session, measurement_id: str) -> Episode | None:
    episode_id = session.scalar(
        select(EscalationMeasurementRow.episode_id)
        .where(EscalationMeasurementRow.measurement_id == measurement_id)
        .limit(1)
    )
    return None if episode_id is None else _load(session, episode_id, lock=True)


def _episode_of_concern(session: Session, patient_id: str, orgnr: str, request_id: str) -> Episode | None:
    episode_id = session.scalar(
        select(EscalationEventRow.episode_id)
        .join(EscalationEpisodeRow, EscalationEpisodeRow.episode_id == EscalationEventRow.episode_id)
        .where(
            EscalationEpisodeRow.patient_id == patient_id,
            EscalationEventRow.request_id == request_id,
            EscalationEventRow.orgnr == orgnr,
            EscalationEventRow.kind == EventKind.CONCERN.name,
        )
        .order_by(EscalationEpisodeRow.opened_at.desc())
        .limit(1)
    )
    return None if episode_id is None else _load(session, episode_id, lock=True)


def _load(session: Session, episode_id: str, *, lock: bool = False) -> Episode | None:
    """The episode with its rows; `lock` takes its row lock (PostgreSQL: SELECT … FOR UPDATE) for the
    rest of the transaction. The version read is kept for the save's comparison. Unlocked, the
    version is read again at the end: one state, or StaleEpisode (the caller reads again)."""
    query = select(EscalationEpisodeRow).where(EscalationEpisodeRow.episode_id == episode_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        return None
    session.info.setdefault(_VERSIONS, {})[episode_id] = row.version
    targets = session.scalars(
        select(EscalationTargetRow)
        .where(EscalationTargetRow.episode_id == episode_id)
        .order_by(EscalationTargetRow.pending, EscalationTargetRow.position)
        .execution_options(populate_existing=True)
    ).all()
    events = [
        _event(r)
        for r in session.scalars(
            select(EscalationEventRow)
            .where(EscalationEventRow.episode_id == episode_id)
            .order_by(EscalationEventRow.seq)
            .execution_options(populate_existing=True)
        ).all()
    ]
    measurements = session.scalars(
        select(EscalationMeasurementRow)
        .where(EscalationMeasurementRow.episode_id == episode_id)
        .order_by(EscalationMeasurementRow.measured_at, EscalationMeasurementRow.arrival)
        .execution_options(populate_existing=True)
    ).all()
    # populate_existing on every read: a row this session already holds (the sweeper's claim loads
    # the timer row) is read again, not answered from the session's identity map: a timer another
    # replica fired and replaced under the same key (episode, kind) since would otherwise be fired
    # again from the stale copy.
    timers = session.scalars(
        select(EscalationTimerRow)
        .where(EscalationTimerRow.episode_id == episode_id)
        .execution_options(populate_existing=True)
    ).all()
    if (
        not lock
        and session.scalar(select(EscalationEpisodeRow.version).where(EscalationEpisodeRow.episode_id == episode_id))
        != row.version
    ):
        # Unlocked, each statement reads what is committed when it runs: a save committed between
        # them (every save moves the version) would mix two states. Read again.
        raise StaleEpisode(episode_id)
    return Episode(
        episode_id=row.episode_id,
        patient_id=row.patient_id,
        source_orgnr=row.source_orgnr,
        origin=Origin[row.origin],
        level=Level[row.level],
        state=State[row.state],
        rules_version=row.rules_version,
        opened_at=row.opened_at,
        targets=tuple(
            EpisodeTarget(
                _target(t),
                t.added_at or row.opened_at,
                AddedBecause[t.added_because or "OPENED"],
                t.last_notified_at,
                t.declined,
            )
            for t in targets
            if not t.pending
        ),
        pending=tuple(_target(t) for t in targets if t.pending),
        deadline=row.deadline,
        chain_exhausted=row.chain_exhausted,
        undeliverable=row.undeliverable,
        timers=tuple(sorted((_timer(t) for t in timers), key=lambda t: t.sequence)),
        timer_sequence=row.timer_sequence,
        events=tuple(events),
        measurements=tuple(
            MeasurementRef(m.measurement_id, m.measured_at, None if m.level is None else Level[m.level])
            for m in measurements
        ),
        measurements_left_out=row.measurements_left_out,
        newest_measured_at=row.newest_measured_at,
        below_trigger_since_ack=row.below_trigger_since_ack,
        acknowledgement=None if row.acknowledgement_seq is None else events[row.acknowledgement_seq],
        resolution=None if row.resolution_seq is None else events[row.resolution_seq],
    )


def _target(row: EscalationTargetRow) -> Target:
    return Target(row.orgnr, TargetKind[row.kind], TargetRole[row.role])


def _timer(row: EscalationTimerRow) -> Timer:
    return Timer(row.episode_id, TimerKind[row.kind], row.sequence, row.due_at)


def _event(row: EscalationEventRow) -> Event:
    person = None if row.hpr_number is None or row.person_name is None else Performer(row.hpr_number, row.person_name)
    return Event(
        kind=EventKind[row.kind],
        at=row.at,
        level=Level[row.level],
        orgnr=row.orgnr,
        person=person,
        request_id=row.request_id,
        text=row.text,
        outcome=None if row.outcome is None else Outcome[row.outcome],
        planned_for=row.planned_for,
    )
