"""Episode transitions with an injected clock (docs/escalation.md, "Episodes"): opening, appending,
upgrading, acknowledging, declining, timeouts along the chain, reassessment, resolution and
auto-resolution, the notification limit, bounds, idempotency and the errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from services.platform.errors import ServiceError
from services.summary.escalation_episodes import (
    MAX_EVENTS_PER_EPISODE,
    MAX_MEASUREMENTS_KEPT,
    NOTIFY_AT_MOST_EVERY,
    PHONE_113,
    PHONE_LEGEVAKT,
    CancelTimer,
    Effect,
    Episode,
    EventKind,
    Notify,
    NotifyReason,
    Origin,
    Outcome,
    RecorderMessage,
    SetTimer,
    State,
    TellRecorder,
    Timer,
    TimerKind,
    Transition,
    acknowledge,
    decline,
    fire_timer,
    plan_reassessment,
    raise_concern,
    record_measurement,
    resolve,
)
from services.summary.escalation_routing import Routes, TargetRole
from services.summary.escalation_rules import AcknowledgeWithin, Level, NoEscalation, RecorderText, evaluate
from services.summary.trend import TrendPoint
from tests.fixtures.escalation import (
    CHILD_BORN,
    FOLLOW_UP_TEAM,
    HOME_NURSING,
    LEGEVAKT,
    OTHER_ORG,
    PATIENT,
    PATIENT_BORN,
    RECORDER,
    T0,
    actor,
    first_concern,
    measurement,
    minutes,
    routes,
)

WITHIN = AcknowledgeWithin()
SATURDAY = datetime(2026, 11, 7, 11, 0, tzinfo=UTC)


class Clock:
    """The injected clock: time moves only when a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


class Patient:
    """One patient's measurements and open episode, driven through the pure functions as a store would."""

    def __init__(
        self,
        clock: Clock,
        born: object = PATIENT_BORN,
        routes_at: Callable[[datetime], Routes] | None = None,
    ) -> None:
        self.clock = clock
        self.born = born
        self.points: list[TrendPoint] = []
        self.episode: Episode | None = None
        self.routes_at = routes_at or routes
        self.count = 0

    def measure(
        self,
        total: int,
        *,
        red: bool = False,
        ago: timedelta = timedelta(0),
        pregnant: bool = False,
        mid: str = "",
        age_limit: bool = False,
    ) -> Transition:
        """Record a measurement taken `ago` before now; with `age_limit`, one older than the
        maximum age when recorded is TOO_OLD (evaluated with the clock)."""
        self.count += 1
        at = self.clock.now - ago
        m = measurement(at, total, red=red, pregnant=pregnant, mid=mid or f"m{self.count}")
        now = self.clock.now if age_limit else None
        evaluation = evaluate(m, self.born, self.points, now=now)  # type: ignore[arg-type]
        if evaluation.result is not None:
            self.points.append(TrendPoint(at, evaluation.result.total))
        step = record_measurement(
            self.episode,
            measurement_id=m.measurement_id,
            measured_at=at,
            evaluation=evaluation,
            new_episode_id=f"e{self.count}",
            patient_id=PATIENT,
            source_orgnr=RECORDER,
            routes=self.routes_at(self.clock.now),
            now=self.clock.now,
            within=WITHIN,
        )
        self.last = (m, evaluation)
        self.episode = step.episode if step.episode is not None else self.episode
        return step

    def replay_last(self) -> Transition:
        m, evaluation = self.last
        return record_measurement(
            self.episode,
            measurement_id=m.measurement_id,
            measured_at=m.measured_at,
            evaluation=evaluation,
            new_episode_id="other",
            patient_id=PATIENT,
            source_orgnr=RECORDER,
            routes=self.routes_at(self.clock.now),
            now=self.clock.now,
            within=WITHIN,
        )

    def apply(self, step: Transition) -> Transition:
        self.episode = step.episode
        return step

    @property
    def open(self) -> Episode:
        assert self.episode is not None
        return self.episode


def notified(effects: tuple[Effect, ...]) -> dict[str, Notify]:
    return {e.orgnr: e for e in effects if isinstance(e, Notify)}


def told(effects: tuple[Effect, ...]) -> list[TellRecorder]:
    return [e for e in effects if isinstance(e, TellRecorder)]


def refused(code: grpc.StatusCode, reason: str, call: Callable[[], object]) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    assert (caught.value.code, caught.value.reason) == (code, reason)
    return caught.value


def due_timer(episode: Episode, kind: TimerKind = TimerKind.ACKNOWLEDGE):  # type: ignore[no-untyped-def]
    timer = episode.timer(kind)
    assert timer is not None
    return timer


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def patient(clock: Clock) -> Patient:
    return Patient(clock)


# --- opening --------------------------------------------------------------------------------------


def test_nothing_opens_below_every_trigger(patient: Patient) -> None:
    assert patient.measure(2) == Transition(None)
    assert patient.episode is None


def test_emergency_opens_telling_the_recorder_to_phone_113_first_and_pushes_to_every_target(patient: Patient) -> None:
    step = patient.measure(8)
    episode = patient.open
    assert (episode.level, episode.state, episode.origin) == (Level.EMERGENCY, State.OPEN, Origin.SCORE)
    assert episode.rules_version == "news2-escalation/2"
    assert [t.orgnr for t in episode.targets] == [LEGEVAKT, HOME_NURSING, FOLLOW_UP_TEAM]
    assert step.effects[0] == TellRecorder(
        episode.episode_id, RECORDER, RecorderMessage.PHONE_113, step.effects[0].text, (PHONE_113,)
    )  # type: ignore[union-attr]
    assert episode.deadline == T0 + minutes(5)
    assert SetTimer(due_timer(episode)) in step.effects
    notes = notified(step.effects)
    assert set(notes) == {LEGEVAKT, HOME_NURSING, FOLLOW_UP_TEAM}
    assert all(n.push and n.reason is NotifyReason.OPENED and n.deadline == T0 + minutes(5) for n in notes.values())
    assert notes[FOLLOW_UP_TEAM].role is TargetRole.INFORMED


def test_review_is_listed_not_pushed_and_its_deadline_counts_the_teams_hours(patient: Patient) -> None:
    patient.measure(1, ago=timedelta(hours=3))
    step = patient.measure(3)
    notes = notified(step.effects)
    assert set(notes) == {FOLLOW_UP_TEAM} and not notes[FOLLOW_UP_TEAM].push
    assert patient.open.deadline == T0 + timedelta(hours=4)  # Wednesday 10:00 -> 14:00, inside 08:00-15:30
    assert told(step.effects)[0].message is RecorderMessage.SENT


def test_undeliverable_goes_back_to_the_recorder_with_the_phone_numbers_and_sets_no_timer(clock: Clock) -> None:
    patient = Patient(clock, routes_at=lambda now: routes(now, follow_up=False, home_nursing=False, legevakt=False))
    step = patient.measure(6)
    episode = patient.open
    assert episode.undeliverable and episode.targets == () and episode.timers == () and episode.deadline is None
    [message] = told(step.effects)
    assert message.message is RecorderMessage.UNDELIVERABLE and message.phone_numbers == (PHONE_LEGEVAKT, PHONE_113)
    assert "116117" in message.text.nb and "113" in message.text.en
    # Never closed by itself: no timer fires; the recorder's organisation closes it.
    done = resolve(
        episode,
        actor=actor(RECORDER),
        outcome=Outcome.SENT_TO_LEGEVAKT,
        note="",
        request_id="r1",
        now=clock.advance(minutes(30)),
    )
    assert done.episode is not None and done.episode.state is State.RESOLVED


def test_under_16s_open_nothing_but_a_concern_can(clock: Clock) -> None:
    child = Patient(clock, born=CHILD_BORN)
    assert child.measure(9).episode is None
    step = first_concern(
        actor(HOME_NURSING, "990000101", "Sigrid Sykepleiersen"),
        Level.URGENT,
        "Barnet er slapt og har feber",
        clock.now,
        routed=routes(clock.now, recorder=HOME_NURSING),
        new_episode_id="e-c",
        patient_id="14681450042",
    )
    assert step.episode is not None
    assert (step.episode.origin, step.episode.level, step.episode.source_orgnr) == (
        Origin.CONCERN,
        Level.URGENT,
        HOME_NURSING,
    )
    assert HOME_NURSING not in notified(step.effects)  # the raiser's organisation is not told
    assert [e.kind for e in step.episode.events] == [EventKind.OPENED, EventKind.CONCERN]


# --- measurements on an open episode -------------------------------------------------------------


def test_the_same_measurement_twice_changes_nothing(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    before = patient.open
    assert patient.replay_last() == Transition(before)
    clock.advance(minutes(3))
    patient.measure(6)
    after = patient.open
    assert patient.replay_last() == Transition(after)


def test_a_newer_measurement_at_the_same_or_a_lower_level_is_appended_without_a_notification(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(6)
    clock.advance(minutes(2))
    same = patient.measure(5)
    clock.advance(minutes(2))
    lower = patient.measure(3, red=True)
    assert same.effects == () and lower.effects == ()
    assert [m.level for m in patient.open.measurements] == [Level.URGENT, Level.URGENT, Level.URGENT_REVIEW]
    assert patient.open.level is Level.URGENT


def test_a_higher_level_upgrades_and_renotifies_every_target_even_one_that_acknowledged(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(3, red=True)  # URGENT_REVIEW: the follow-up team (open on Wednesday)
    first_deadline = patient.open.deadline
    patient.apply(
        acknowledge(patient.open, actor=actor(FOLLOW_UP_TEAM), request_id="a1", now=clock.advance(minutes(5)))
    )
    assert patient.open.state is State.ACKNOWLEDGED
    auto = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    clock.advance(minutes(10))
    step = patient.measure(7)
    episode = patient.open
    assert (episode.level, episode.state, episode.acknowledgement) == (Level.EMERGENCY, State.OPEN, None)
    notes = notified(step.effects)
    assert set(notes) == {FOLLOW_UP_TEAM, LEGEVAKT, HOME_NURSING}
    assert all(n.reason is NotifyReason.UPGRADED and n.push for n in notes.values())
    assert CancelTimer(auto) in step.effects
    assert episode.deadline == clock.now + minutes(5)
    assert first_deadline is not None and episode.deadline < first_deadline + timedelta(hours=1)
    assert told(step.effects)[0].message is RecorderMessage.PHONE_113
    assert [e.kind for e in episode.events] == [EventKind.OPENED, EventKind.ACKNOWLEDGED, EventKind.UPGRADED]


def test_a_measurement_at_the_same_time_as_the_newest_still_upgrades(patient: Patient) -> None:
    patient.measure(5)
    step = patient.measure(7)  # the clock did not move: the same measured_at, another measurement
    assert patient.open.level is Level.EMERGENCY
    assert set(notified(step.effects)) == {LEGEVAKT, HOME_NURSING, FOLLOW_UP_TEAM}


def test_an_upgrade_never_postpones_a_running_deadline(patient: Patient, clock: Clock) -> None:
    patient.measure(5)  # URGENT: 15 min
    clock.advance(minutes(13))
    patient.measure(8)  # EMERGENCY: 5 min would be later than the 2 min left
    assert patient.open.deadline == T0 + minutes(15)


def test_a_late_older_measurement_never_upgrades(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    clock.advance(minutes(10))
    step = patient.measure(9, ago=minutes(20))  # measured before the one that opened the episode
    assert step.effects == ()
    assert patient.open.level is Level.URGENT
    assert patient.last[1].level is None


# --- acknowledge, decline, timeouts --------------------------------------------------------------


def test_acknowledge_stops_the_chain_and_is_idempotent_by_request_id(patient: Patient, clock: Clock) -> None:
    patient.measure(3, red=True)
    ack_timer = due_timer(patient.open)
    step = patient.apply(
        acknowledge(patient.open, actor=actor(FOLLOW_UP_TEAM), request_id="a1", now=clock.advance(minutes(5)))
    )
    episode = patient.open
    assert episode.state is State.ACKNOWLEDGED and episode.deadline is None
    assert episode.acknowledgement is not None and episode.acknowledgement.person == actor(FOLLOW_UP_TEAM).person
    assert CancelTimer(ack_timer) in step.effects
    assert due_timer(episode, TimerKind.AUTO_RESOLVE).due_at == clock.now + timedelta(hours=24)
    assert told(step.effects)[0].message is RecorderMessage.ACKNOWLEDGED
    # The old deadline timer firing now (a sweeper that had read it before) changes nothing.
    assert fire_timer(episode, ack_timer, now=clock.advance(minutes(30)), within=WITHIN) == Transition(episode)
    # The same request again, later: nothing changes.
    assert acknowledge(episode, actor=actor(FOLLOW_UP_TEAM), request_id="a1", now=clock.now) == Transition(episode)
    refused(
        grpc.StatusCode.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
        lambda: acknowledge(episode, actor=actor(FOLLOW_UP_TEAM, name="Another Name"), request_id="a1", now=clock.now),
    )
    refused(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_ALREADY_ACKNOWLEDGED",
        lambda: acknowledge(episode, actor=actor(FOLLOW_UP_TEAM), request_id="a2", now=clock.now),
    )


def test_who_may_acknowledge(patient: Patient, clock: Clock) -> None:
    patient.measure(5)  # URGENT: home nursing and legevakt responsible, the follow-up team informed
    episode = patient.open
    refused(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_NOT_RESPONSIBLE",
        lambda: acknowledge(episode, actor=actor(FOLLOW_UP_TEAM), request_id="a1", now=clock.now),
    )
    refused(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_NOT_RESPONSIBLE",
        lambda: acknowledge(episode, actor=actor(RECORDER), request_id="a1", now=clock.now),
    )
    refused(
        grpc.StatusCode.NOT_FOUND,
        "ESCALATION_NOT_FOUND",
        lambda: acknowledge(episode, actor=actor(OTHER_ORG), request_id="a1", now=clock.now),
    )
    error = refused(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        lambda: acknowledge(episode, actor=actor(LEGEVAKT, hpr="12x", name=""), request_id="", now=clock.now),
    )
    assert set(error.field_violations) == {"hpr_number", "name", "request_id"}
    assert acknowledge(episode, actor=actor(LEGEVAKT), request_id="a1", now=clock.now).episode is not None


def test_decline_passes_it_on_at_once_and_everyone_declining_exhausts_the_chain(patient: Patient, clock: Clock) -> None:
    patient.measure(4, red=True)  # URGENT_REVIEW: the follow-up team, then the legevakt
    episode = patient.open
    refused(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        lambda: decline(
            episode, actor=actor(FOLLOW_UP_TEAM), reason=" ", request_id="d1", now=clock.now, within=WITHIN
        ),
    )
    step = patient.apply(
        decline(
            episode,
            actor=actor(FOLLOW_UP_TEAM),
            reason="Ikke vår pasient i dag",
            request_id="d1",
            now=clock.advance(minutes(3)),
            within=WITHIN,
        )
    )
    assert set(notified(step.effects)) == {LEGEVAKT}
    assert notified(step.effects)[LEGEVAKT].reason is NotifyReason.PASSED_ON
    assert patient.open.deadline == clock.now + minutes(30)
    assert patient.open.pending == ()
    refused(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_NOT_RESPONSIBLE",
        lambda: acknowledge(patient.open, actor=actor(FOLLOW_UP_TEAM), request_id="a1", now=clock.now),
    )
    step = patient.apply(
        decline(
            patient.open,
            actor=actor(LEGEVAKT),
            reason="Full legevakt",
            request_id="d2",
            now=clock.advance(minutes(1)),
            within=WITHIN,
        )
    )
    assert patient.open.chain_exhausted and patient.open.state is State.OPEN and patient.open.timers == ()
    [message] = told(step.effects)
    assert message.message is RecorderMessage.PHONE_LEGEVAKT and message.phone_numbers == (PHONE_LEGEVAKT,)
    assert patient.open.events[-1].kind is EventKind.CHAIN_EXHAUSTED


def test_urgent_review_timeouts_add_the_legevakt_then_tell_the_recorder(patient: Patient, clock: Clock) -> None:
    patient.measure(3, red=True)
    first = due_timer(patient.open)
    assert fire_timer(patient.open, first, now=clock.advance(minutes(29)), within=WITHIN) == Transition(patient.open)
    step = patient.apply(fire_timer(patient.open, first, now=clock.advance(minutes(1)), within=WITHIN))
    assert set(notified(step.effects)) == {LEGEVAKT}
    assert notified(step.effects)[LEGEVAKT].reason is NotifyReason.TIMEOUT
    second = due_timer(patient.open)
    assert second.due_at == clock.now + minutes(30) and second.sequence > first.sequence
    # The sweeper fires the first timer again (a crash after the commit): nothing changes.
    assert fire_timer(patient.open, first, now=clock.now, within=WITHIN) == Transition(patient.open)
    step = patient.apply(fire_timer(patient.open, second, now=clock.advance(minutes(31)), within=WITHIN))
    assert [m.message for m in told(step.effects)] == [RecorderMessage.PHONE_LEGEVAKT]
    assert patient.open.chain_exhausted and patient.open.state is State.OPEN
    assert fire_timer(patient.open, second, now=clock.now, within=WITHIN) == Transition(patient.open)


@pytest.mark.parametrize(("total", "message"), [(5, RecorderMessage.PHONE_LEGEVAKT), (7, RecorderMessage.PHONE_113)])
def test_urgent_and_emergency_timeouts_tell_the_recorder_to_phone(
    patient: Patient, clock: Clock, total: int, message: RecorderMessage
) -> None:
    patient.measure(total)
    timer = due_timer(patient.open)
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(timer.due_at - clock.now), within=WITHIN))
    assert [m.message for m in told(step.effects)] == [message]
    assert notified(step.effects) == {}
    assert patient.open.chain_exhausted and patient.open.acknowledgement is None


def test_review_timeout_stays_overdue_on_the_list_over_a_spring_forward_weekend() -> None:
    friday = datetime(2026, 3, 27, 13, 0, tzinfo=UTC)  # 14:00 CET
    clock = Clock(friday - timedelta(hours=5))
    patient = Patient(clock)
    patient.measure(0)
    clock.now = friday
    patient.measure(2)
    assert patient.open.level is Level.REVIEW
    timer = due_timer(patient.open)
    assert timer.due_at == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)  # Monday 10:30 CEST
    assert fire_timer(patient.open, timer, now=timer.due_at - timedelta(seconds=1), within=WITHIN).effects == ()
    step = patient.apply(fire_timer(patient.open, timer, now=timer.due_at, within=WITHIN))
    assert step.effects == (CancelTimer(timer),)  # nobody pushed, the recorder not told
    # Overdue, not exhausted: home nursing and the legevakt are left for a decline.
    assert patient.open.state is State.OPEN and patient.open.pending and not patient.open.chain_exhausted


# --- reassessment, resolution ---------------------------------------------------------------------


def test_reassessment_is_planned_only_after_acknowledgement_and_never_for_emergency(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(5)
    episode = patient.open
    plan = dict(
        actor=actor(LEGEVAKT),
        reassess_at=clock.now + timedelta(hours=2),
        note="Ny måling om to timer",
        request_id="p1",
        now=clock.now,
    )
    refused(
        grpc.StatusCode.FAILED_PRECONDITION, "ESCALATION_NOT_ACKNOWLEDGED", lambda: plan_reassessment(episode, **plan)
    )  # type: ignore[arg-type]
    patient.apply(acknowledge(episode, actor=actor(LEGEVAKT), request_id="a1", now=clock.now))
    refused(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        lambda: plan_reassessment(patient.open, **{**plan, "reassess_at": clock.now + timedelta(hours=25)}),
    )  # type: ignore[arg-type]
    auto = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    step = patient.apply(plan_reassessment(patient.open, **plan))  # type: ignore[arg-type]
    assert patient.open.state is State.REASSESSMENT_PLANNED
    timer = due_timer(patient.open, TimerKind.REASSESSMENT)
    assert step.effects == (CancelTimer(auto), SetTimer(timer))
    assert plan_reassessment(patient.open, **{**plan, "now": clock.now + timedelta(hours=3)}) == Transition(  # type: ignore[arg-type]
        patient.open
    )  # the same request later: nothing changes, though its time has passed
    # Due with no newer measurement: the planner is reminded (within the notification limit).
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(timedelta(hours=2)), within=WITHIN))
    assert set(notified(step.effects)) == {LEGEVAKT}
    assert notified(step.effects)[LEGEVAKT].reason is NotifyReason.REASSESSMENT_DUE
    assert patient.open.state is State.ACKNOWLEDGED

    emergency = Patient(Clock(T0))
    emergency.measure(7)
    emergency.apply(acknowledge(emergency.open, actor=actor(LEGEVAKT), request_id="a1", now=T0))
    refused(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_EMERGENCY_NO_PLAN",
        lambda: plan_reassessment(emergency.open, **{**plan, "now": T0}),
    )  # type: ignore[arg-type]


def test_a_reassessment_due_after_a_newer_measurement_reminds_nobody(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    patient.apply(acknowledge(patient.open, actor=actor(LEGEVAKT), request_id="a1", now=clock.now))
    patient.apply(
        plan_reassessment(
            patient.open,
            actor=actor(LEGEVAKT),
            reassess_at=clock.now + timedelta(hours=1),
            note="",
            request_id="p1",
            now=clock.now,
        )
    )
    timer = due_timer(patient.open, TimerKind.REASSESSMENT)
    clock.advance(minutes(50))
    patient.measure(5)
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(minutes(10)), within=WITHIN))
    assert notified(step.effects) == {}
    assert patient.open.events[-1].kind is EventKind.REASSESSMENT_DUE


def test_resolve_with_an_outcome(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    episode = patient.open
    refused(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        lambda: resolve(episode, actor=actor(LEGEVAKT), outcome=Outcome.OTHER, note="", request_id="r1", now=clock.now),
    )
    refused(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        lambda: resolve(
            episode, actor=actor(LEGEVAKT), outcome=Outcome.AUTO_IMPROVED, note="", request_id="r1", now=clock.now
        ),
    )
    refused(
        grpc.StatusCode.FAILED_PRECONDITION,
        "ESCALATION_NOT_RESPONSIBLE",
        lambda: resolve(
            episode,
            actor=actor(FOLLOW_UP_TEAM),
            outcome=Outcome.MANAGED_IN_PLACE,
            note="",
            request_id="r1",
            now=clock.now,
        ),
    )
    step = patient.apply(
        resolve(
            episode,
            actor=actor(LEGEVAKT),
            outcome=Outcome.ADMITTED_TO_HOSPITAL,
            note="Innlagt medisinsk avdeling",
            request_id="r1",
            now=clock.advance(minutes(4)),
        )
    )
    done = patient.open
    assert done.state is State.RESOLVED and done.timers == () and done.deadline is None
    assert done.resolution is not None and done.resolution.outcome is Outcome.ADMITTED_TO_HOSPITAL
    assert CancelTimer(due_timer(episode)) in step.effects
    assert told(step.effects)[-1].message is RecorderMessage.RESOLVED
    assert resolve(
        done,
        actor=actor(LEGEVAKT),
        outcome=Outcome.ADMITTED_TO_HOSPITAL,
        note="Innlagt medisinsk avdeling",
        request_id="r1",
        now=clock.now,
    ) == Transition(done)
    for call in (
        lambda: acknowledge(done, actor=actor(LEGEVAKT), request_id="a9", now=clock.now),
        lambda: resolve(done, actor=actor(RECORDER), outcome=Outcome.OTHER, note="x", request_id="r2", now=clock.now),
    ):
        refused(grpc.StatusCode.FAILED_PRECONDITION, "ESCALATION_RESOLVED", call)
    # A resolved episode is no longer the open one: the next measurement opens a new episode.
    patient.measure(6)
    assert patient.open.episode_id != done.episode_id and patient.open.state is State.OPEN


def test_note_length_is_bounded(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    at_limit = resolve(
        patient.open, actor=actor(LEGEVAKT), outcome=Outcome.OTHER, note="ø" * 1000, request_id="r1", now=clock.now
    )
    assert at_limit.episode is not None
    error = refused(
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        lambda: resolve(
            patient.open, actor=actor(LEGEVAKT), outcome=Outcome.OTHER, note="ø" * 1001, request_id="r1", now=clock.now
        ),
    )
    assert error.field_violations == {"note": "at most 1000 characters"}


# --- auto-resolution: only after an acknowledgement ------------------------------------------------


def test_two_later_measurements_below_every_trigger_resolve_an_acknowledged_episode(
    patient: Patient, clock: Clock
) -> None:
    # Totals of 2 trigger nothing here (no rise of 2 and no 0 within 24 h, so no REVIEW).
    patient.measure(5)
    clock.advance(minutes(10))
    patient.measure(2)
    clock.advance(minutes(10))
    patient.measure(2)
    assert patient.open.state is State.OPEN  # unacknowledged: never closed by itself
    patient.apply(acknowledge(patient.open, actor=actor(HOME_NURSING), request_id="a1", now=clock.advance(minutes(1))))
    clock.advance(minutes(30))
    patient.measure(2, ago=minutes(40))  # measured before the acknowledgement: does not count
    clock.advance(minutes(30))
    patient.measure(2)
    clock.advance(minutes(30))
    patient.measure(3, red=True)  # a trigger again: counting starts over
    clock.advance(minutes(30))
    assert patient.measure(2).effects == ()
    assert patient.open.state is State.ACKNOWLEDGED
    auto = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    clock.advance(minutes(30))
    step = patient.measure(2)
    assert patient.open.state is State.RESOLVED
    assert patient.open.resolution is not None and patient.open.resolution.outcome is Outcome.AUTO_IMPROVED
    assert CancelTimer(auto) in step.effects and patient.open.timers == ()


def test_a_late_synced_measurement_that_would_have_triggered_starts_the_count_below_the_trigger_over(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(5)  # URGENT
    patient.apply(acknowledge(patient.open, actor=actor(LEGEVAKT), request_id="a1", now=clock.advance(minutes(5))))
    clock.advance(timedelta(hours=1))
    patient.measure(0)  # below every trigger: one of two
    assert patient.open.below_trigger_since_ack == 1
    # A 7 measured 30 minutes later, synced 8 h late: too old to escalate, but not below the trigger.
    clock.advance(timedelta(hours=8))
    step = patient.measure(7, ago=timedelta(hours=7, minutes=30), age_limit=True)
    assert patient.last[1].no_escalation is NoEscalation.TOO_OLD and step.effects == ()
    assert patient.open.state is State.ACKNOWLEDGED and patient.open.below_trigger_since_ack == 0
    clock.advance(minutes(10))
    patient.measure(0, age_limit=True)
    assert patient.open.state is State.ACKNOWLEDGED and patient.open.below_trigger_since_ack == 1
    clock.advance(minutes(10))
    step = patient.measure(0, age_limit=True)
    assert patient.open.resolution is not None and patient.open.resolution.outcome is Outcome.AUTO_IMPROVED


def test_24_hours_without_a_higher_level_resolve_an_acknowledged_episode(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    patient.apply(acknowledge(patient.open, actor=actor(HOME_NURSING), request_id="a1", now=clock.advance(minutes(2))))
    timer = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    clock.advance(timedelta(hours=12))
    patient.measure(6)  # the same level: no upgrade, the timer stays
    assert patient.open.timer(TimerKind.AUTO_RESOLVE) == timer
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(timedelta(hours=12)), within=WITHIN))
    assert patient.open.state is State.RESOLVED
    assert patient.open.resolution is not None and patient.open.resolution.outcome is Outcome.AUTO_NO_WORSENING
    assert told(step.effects)[-1].message is RecorderMessage.RESOLVED
    assert fire_timer(patient.open, timer, now=clock.now, within=WITHIN) == Transition(patient.open)


def test_a_concern_is_not_resolved_by_normal_scores(clock: Clock) -> None:
    concern = first_concern(
        actor(RECORDER, "990000101", "Sigrid Sykepleiersen"), Level.URGENT_REVIEW, "Urolig, ikke seg selv", clock.now
    )
    patient = Patient(clock)
    patient.episode = concern.episode
    patient.apply(
        acknowledge(patient.open, actor=actor(FOLLOW_UP_TEAM), request_id="a1", now=clock.advance(minutes(1)))
    )
    for _ in range(3):
        clock.advance(minutes(30))
        patient.measure(0)
    assert patient.open.state is State.ACKNOWLEDGED


# --- the notification limit ----------------------------------------------------------------------


def test_at_most_one_notification_per_target_per_15_minutes_but_emergency_and_upgrades(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(5)
    concern = dict(
        actor=actor(RECORDER, "990000101", "Sigrid Sykepleiersen"),
        note="Mer tungpustet",
        new_episode_id="x",
        patient_id=PATIENT,
        within=WITHIN,
    )

    def raise_(level: Level, request_id: str) -> Transition:
        return patient.apply(
            raise_concern(
                patient.open, level=level, request_id=request_id, routes=routes(clock.now), now=clock.now, **concern
            )
        )  # type: ignore[arg-type]

    clock.advance(NOTIFY_AT_MOST_EVERY - timedelta(seconds=1))
    assert notified(raise_(Level.URGENT, "c1").effects) == {}  # told 14:59 ago
    clock.advance(timedelta(seconds=1))
    assert set(notified(raise_(Level.URGENT, "c2").effects)) == {HOME_NURSING, LEGEVAKT}
    clock.advance(minutes(1))
    upgrade = raise_(Level.EMERGENCY, "c3")  # an upgrade a minute later: never limited
    assert set(notified(upgrade.effects)) == {HOME_NURSING, LEGEVAKT, FOLLOW_UP_TEAM}
    clock.advance(minutes(1))
    again = raise_(Level.EMERGENCY, "c4")  # EMERGENCY: never limited either
    assert set(notified(again.effects)) == {HOME_NURSING, LEGEVAKT}
    assert all(n.reason is NotifyReason.CONCERN for n in notified(again.effects).values())


# --- bounds ---------------------------------------------------------------------------------------


def test_an_episode_lists_the_newest_measurements_and_counts_the_rest(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    for _ in range(MAX_MEASUREMENTS_KEPT + 9):
        clock.advance(minutes(5))
        patient.measure(5)
    episode = patient.open
    assert len(episode.measurements) == MAX_MEASUREMENTS_KEPT and episode.measurements_left_out == 10
    assert episode.measurements[-1].measured_at == clock.now
    # One older than every measurement listed changes nothing, even with a new id.
    assert patient.measure(9, ago=timedelta(days=1)) == Transition(episode)


def test_actions_are_refused_at_the_event_limit_but_resolving_is_not(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    step = 0
    with pytest.raises(ServiceError) as caught:
        while True:
            step += 1
            patient.apply(
                raise_concern(
                    patient.open,
                    actor=actor(RECORDER),
                    level=Level.URGENT,
                    note="igjen",
                    request_id=f"c{step}",
                    new_episode_id="x",
                    patient_id=PATIENT,
                    routes=routes(clock.now),
                    now=clock.now,
                    within=WITHIN,
                )
            )
    assert (caught.value.code, caught.value.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ESCALATION_EVENTS_LIMIT")
    assert len(patient.open.events) < MAX_EVENTS_PER_EPISODE
    patient.apply(
        resolve(
            patient.open,
            actor=actor(LEGEVAKT),
            outcome=Outcome.MANAGED_IN_PLACE,
            note="",
            request_id="r1",
            now=clock.now,
        )
    )
    assert patient.open.state is State.RESOLVED and len(patient.open.events) <= MAX_EVENTS_PER_EPISODE


def test_effects_carry_no_patient_data(patient: Patient, clock: Clock) -> None:
    """What a store delivers from an episode (an inbox row, a timer, a message to the recorder)
    names the episode and organisations, never the patient or the values."""
    allowed = {
        "episode_id",
        "orgnr",
        "role",
        "level",
        "reason",
        "push",
        "deadline",
        "timer",
        "kind",
        "sequence",
        "due_at",
        "message",
        "text",
        "phone_numbers",
        "nb",
        "en",
    }
    for kind in (Notify, SetTimer, CancelTimer, TellRecorder, Timer, RecorderText):
        assert {f.name for f in fields(kind)} <= allowed, kind
    step = patient.measure(8)
    for effect in step.effects:
        assert PATIENT not in repr(effect)


def test_the_source_is_never_a_target_even_with_routes_made_for_another_recorder(clock: Clock) -> None:
    step = first_concern(
        actor(HOME_NURSING, "990000101", "Sigrid Sykepleiersen"),
        Level.EMERGENCY,
        "Plutselig forverring",
        clock.now,
        routed=routes(clock.now, recorder=RECORDER),
    )
    assert step.episode is not None
    assert [t.orgnr for t in step.episode.targets] == [LEGEVAKT, FOLLOW_UP_TEAM]
    assert HOME_NURSING not in notified(step.effects)


# --- the organisation acting on an open episode -----------------------------------------------------


def _measured_by(patient: Patient, orgnr: str, total: int, mid: str, **facts: bool) -> Transition:
    """A measurement of the patient recorded by `orgnr` (not the episode's source), routed for it."""
    m = measurement(patient.clock.now, total, mid=mid)
    evaluation = evaluate(m, PATIENT_BORN, patient.points)
    return patient.apply(
        record_measurement(
            patient.open,
            measurement_id=mid,
            measured_at=m.measured_at,
            evaluation=evaluation,
            new_episode_id="unused",
            patient_id=PATIENT,
            source_orgnr=orgnr,
            routes=routes(patient.clock.now, recorder=orgnr, **facts),
            now=patient.clock.now,
            within=WITHIN,
        )
    )


def _concern_by(patient: Patient, orgnr: str, level: Level, note: str) -> Transition:
    """A concern (request "c1") raised by `orgnr` on the patient's open episode, routed for it."""
    now = patient.clock.now
    return raise_concern(
        patient.open,
        actor=actor(orgnr),
        level=level,
        note=note,
        request_id="c1",
        new_episode_id="unused",
        patient_id=PATIENT,
        routes=routes(now, recorder=orgnr),
        now=now,
        within=WITHIN,
    )


def test_an_emergency_concern_by_a_target_tells_it_to_phone_113_and_notifies_only_the_others(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(5)  # URGENT, recorded at the KAD: home nursing and the legevakt
    clock.advance(minutes(20))
    step = patient.apply(_concern_by(patient, HOME_NURSING, Level.EMERGENCY, "Puster tungt"))
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [(HOME_NURSING, RecorderMessage.PHONE_113)]
    assert told(step.effects)[0].phone_numbers == (PHONE_113,)
    assert set(notified(step.effects)) == {LEGEVAKT, FOLLOW_UP_TEAM}
    assert patient.open.source_orgnr == RECORDER and patient.open.recorder_orgnr == HOME_NURSING
    # Unacknowledged, the timeout tells the one who raised the emergency to phone 113 again.
    timer = due_timer(patient.open)
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(minutes(5)), within=WITHIN))
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [(HOME_NURSING, RecorderMessage.PHONE_113)]


def test_later_messages_to_an_acting_organisation_neither_target_nor_source_go_to_the_source_too(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(5)  # URGENT, recorded at the KAD
    clock.advance(minutes(20))
    step = patient.apply(_concern_by(patient, OTHER_ORG, Level.EMERGENCY, "Puster tungt"))
    # Told in the answer to its own call: it alone.
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [(OTHER_ORG, RecorderMessage.PHONE_113)]
    assert patient.open.recorder_orgnr == OTHER_ORG and patient.open.target(OTHER_ORG) is None
    # Later messages it cannot read (no target, not the source) go to the source as well.
    timer = due_timer(patient.open)
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(minutes(5)), within=WITHIN))
    assert [(t.orgnr, t.message, t.phone_numbers) for t in told(step.effects)] == [
        (OTHER_ORG, RecorderMessage.PHONE_113, (PHONE_113,)),
        (RECORDER, RecorderMessage.PHONE_113, (PHONE_113,)),
    ]
    step = patient.apply(acknowledge(patient.open, actor=actor(LEGEVAKT), request_id="a1", now=clock.now))
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [
        (OTHER_ORG, RecorderMessage.ACKNOWLEDGED),
        (RECORDER, RecorderMessage.ACKNOWLEDGED),
    ]
    auto = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    step = patient.apply(fire_timer(patient.open, auto, now=clock.advance(timedelta(hours=24)), within=WITHIN))
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [
        (OTHER_ORG, RecorderMessage.RESOLVED),
        (RECORDER, RecorderMessage.RESOLVED),
    ]


def test_a_concern_at_the_level_by_a_target_never_notifies_itself(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    clock.advance(minutes(20))
    step = _concern_by(patient, HOME_NURSING, Level.URGENT, "Fortsatt dårlig")
    assert set(notified(step.effects)) == {LEGEVAKT}
    assert step.episode is not None and step.episode.recorder_orgnr == RECORDER


def test_an_upgrade_measured_by_another_organisation_tells_it_and_never_notifies_it(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(5)  # URGENT, recorded at the KAD
    clock.advance(minutes(20))
    step = _measured_by(patient, LEGEVAKT, 8, "lv1")
    assert patient.open.level is Level.EMERGENCY
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [(LEGEVAKT, RecorderMessage.PHONE_113)]
    assert set(notified(step.effects)) == {HOME_NURSING, FOLLOW_UP_TEAM}
    assert patient.open.events[-1].orgnr == LEGEVAKT and patient.open.recorder_orgnr == LEGEVAKT


def test_an_upgrade_by_the_only_responsible_target_is_undeliverable_to_it(clock: Clock) -> None:
    patient = Patient(clock, routes_at=lambda now: routes(now, legevakt=False, follow_up=False))
    patient.measure(5)  # URGENT: home nursing only
    clock.advance(minutes(3))
    step = _measured_by(patient, HOME_NURSING, 8, "hn1", legevakt=False, follow_up=False)
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [
        (HOME_NURSING, RecorderMessage.PHONE_113),
        (HOME_NURSING, RecorderMessage.UNDELIVERABLE),
    ]
    assert notified(step.effects) == {} and patient.open.undeliverable and patient.open.timers == ()


def test_an_upgrade_below_emergency_tells_its_recorder_the_alert_is_sent(patient: Patient, clock: Clock) -> None:
    patient.measure(3, red=True)  # URGENT_REVIEW: the follow-up team
    clock.advance(minutes(10))
    step = _measured_by(patient, HOME_NURSING, 5, "hn1")
    assert patient.open.level is Level.URGENT
    assert [(t.orgnr, t.message) for t in told(step.effects)] == [(HOME_NURSING, RecorderMessage.SENT)]
    assert HOME_NURSING not in notified(step.effects)


def test_a_planned_reassessment_holds_the_episode_open_until_it_is_due(patient: Patient, clock: Clock) -> None:
    patient.measure(5)
    patient.apply(acknowledge(patient.open, actor=actor(LEGEVAKT), request_id="a1", now=clock.now))
    auto = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    clock.advance(timedelta(hours=20))
    step = patient.apply(
        plan_reassessment(
            patient.open,
            actor=actor(LEGEVAKT),
            reassess_at=clock.now + timedelta(hours=10),
            note="Ny måling i kveld",
            request_id="p1",
            now=clock.now,
        )
    )
    plan = due_timer(patient.open, TimerKind.REASSESSMENT)
    assert step.effects == (CancelTimer(auto), SetTimer(plan))
    assert patient.open.timer(TimerKind.AUTO_RESOLVE) is None
    # The 24 h after the acknowledgement pass with the plan pending: the old timer changes nothing.
    assert fire_timer(patient.open, auto, now=clock.advance(timedelta(hours=4)), within=WITHIN) == Transition(
        patient.open
    )
    assert patient.open.state is State.REASSESSMENT_PLANNED
    # Due: the planner is reminded and the quiet 24 h start again from the reassessment.
    step = patient.apply(fire_timer(patient.open, plan, now=clock.advance(timedelta(hours=6)), within=WITHIN))
    assert patient.open.state is State.ACKNOWLEDGED
    assert notified(step.effects)[LEGEVAKT].reason is NotifyReason.REASSESSMENT_DUE
    rearmed = due_timer(patient.open, TimerKind.AUTO_RESOLVE)
    assert rearmed.due_at == clock.now + timedelta(hours=24) and SetTimer(rearmed) in step.effects
    assert fire_timer(patient.open, rearmed, now=clock.advance(timedelta(hours=23)), within=WITHIN) == Transition(
        patient.open
    )
    step = patient.apply(fire_timer(patient.open, rearmed, now=clock.advance(timedelta(hours=1)), within=WITHIN))
    assert patient.open.state is State.RESOLVED
    assert patient.open.resolution is not None and patient.open.resolution.outcome is Outcome.AUTO_NO_WORSENING


def test_a_review_declined_by_the_follow_up_team_passes_on_to_home_nursing_then_the_legevakt(
    patient: Patient, clock: Clock
) -> None:
    patient.measure(1)
    clock.advance(timedelta(hours=1))
    patient.measure(3)  # REVIEW, the follow-up team primary in its hours
    assert [t.orgnr for t in patient.open.targets] == [FOLLOW_UP_TEAM]
    step = patient.apply(
        decline(
            patient.open, actor=actor(FOLLOW_UP_TEAM), reason="Ikke vår", request_id="d1", now=clock.now, within=WITHIN
        )
    )
    assert not patient.open.chain_exhausted and told(step.effects) == []
    assert {o: (n.reason, n.push) for o, n in notified(step.effects).items()} == {
        HOME_NURSING: (NotifyReason.PASSED_ON, False)
    }
    assert patient.open.deadline == clock.now + WITHIN.review
    # Its timeout leaves it overdue on the list (the legevakt is not added), and the chain is not
    # exhausted: the legevakt is still there for a decline ...
    timer = due_timer(patient.open)
    deadline = patient.open.deadline
    step = patient.apply(fire_timer(patient.open, timer, now=clock.advance(WITHIN.review), within=WITHIN))
    assert not patient.open.chain_exhausted and notified(step.effects) == {} and told(step.effects) == []
    assert step.effects == (CancelTimer(timer),) and patient.open.deadline == deadline <= clock.now
    assert patient.open.events[-1].kind is EventKind.TIMEOUT
    assert not any(e.kind is EventKind.CHAIN_EXHAUSTED for e in patient.open.events)
    assert [t.orgnr for t in patient.open.targets] == [FOLLOW_UP_TEAM, HOME_NURSING]
    assert [t.orgnr for t in patient.open.pending] == [LEGEVAKT]
    # ... while home nursing declining passes it on to the legevakt at once.
    step = patient.apply(
        decline(
            patient.open, actor=actor(HOME_NURSING), reason="Ikke vår", request_id="d2", now=clock.now, within=WITHIN
        )
    )
    assert set(notified(step.effects)) == {LEGEVAKT} and not patient.open.chain_exhausted
    step = patient.apply(
        decline(patient.open, actor=actor(LEGEVAKT), reason="Full", request_id="d3", now=clock.now, within=WITHIN)
    )
    assert patient.open.chain_exhausted
    assert [m.message for m in told(step.effects)] == [RecorderMessage.PHONE_LEGEVAKT]
    assert [e.kind for e in patient.open.events].count(EventKind.CHAIN_EXHAUSTED) == 1
