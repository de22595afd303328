"""Properties of the escalation core over generated facts, times and histories (docs/escalation.md):

- a higher level never yields fewer targets or a later deadline (routing, and an episode's upgrade);
- the same measurement, action or timer applied twice changes nothing;
- EMERGENCY is never suppressed, also not by the 15-minute notification limit;
- a late older measurement never opens or upgrades;
- nothing unacknowledged is closed automatically, the recorder's organisation is never a target,
  nor is an organisation whose measurement or concern opens or upgrades an episode notified of it
  (it, and only it, gets the recorder's messages), and every list of an episode stays within its bound.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.platform.errors import ServiceError
from services.summary.escalation_episodes import (
    MAX_EVENTS_PER_EPISODE,
    MAX_MEASUREMENTS_KEPT,
    Episode,
    Notify,
    Outcome,
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
from services.summary.escalation_routing import (
    ALWAYS_OPEN,
    MAX_TARGETS_PER_EPISODE,
    OpeningHours,
    OpeningInterval,
    ResponsibilityFacts,
    Routes,
    route,
)
from services.summary.escalation_rules import AcknowledgeWithin, Evaluation, Level, NoEscalation, evaluate
from services.summary.trend import TrendPoint
from tests.fixtures.escalation import (
    BODØ,
    FOLLOW_UP_TEAM,
    HOME_NURSING,
    LEGEVAKT,
    LEGEVAKT_TABLE,
    OFFICE_HOURS,
    OTHER_ORG,
    PATIENT,
    PATIENT_BORN,
    RECORDER,
    actor,
    enrolment,
    home_nursing_service,
    measurement,
)

NIGHTS = OpeningHours(tuple(OpeningInterval(day, 0, 6 * 60) for day in range(7)))
HOURS = st.sampled_from([OFFICE_HOURS, ALWAYS_OPEN, NIGHTS, OpeningHours.weekdays(time(7), time(23))])
# Any moment of 2026, and often one on or next to a daylight-saving night or a weekend.
SPECIAL_DAYS = [
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 3, 27, tzinfo=UTC),
    datetime(2026, 10, 23, tzinfo=UTC),
    datetime(2026, 11, 7, tzinfo=UTC),
]
MOMENTS = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.builds(
        lambda day, minute: day - timedelta(hours=3) + timedelta(minutes=minute),
        st.sampled_from(SPECIAL_DAYS),
        st.integers(0, 72 * 60),
    ),
)
ORGS = [HOME_NURSING, LEGEVAKT, FOLLOW_UP_TEAM, RECORDER, OTHER_ORG]
WITHINS = st.sampled_from(
    [
        AcknowledgeWithin(),
        AcknowledgeWithin(
            review=timedelta(hours=1),
            urgent_review=timedelta(minutes=20),
            urgent=timedelta(minutes=20),
            emergency=timedelta(minutes=2),
        ),
    ]
)
# (total, red score) pairs observation() can build, weighted towards the lower levels (rises,
# REVIEW, acknowledgement and auto-resolution happen there; EMERGENCY is common enough).
SCORES = st.sampled_from(
    [(t, False) for t in range(5)] * 3
    + [(3, True), (4, True)] * 2
    + [(5, False), (6, False)] * 2
    + [(t, False) for t in range(7, 11)]
    + [(t, True) for t in range(5, 14)]
)


@st.composite
def responsibility_facts(draw: st.DrawFn) -> ResponsibilityFacts:
    recorder = draw(st.sampled_from(ORGS))
    return ResponsibilityFacts(
        recorder_orgnr=recorder,
        municipality_number=BODØ,
        enrolments=(enrolment(draw(HOURS)),) if draw(st.booleans()) else (),
        services=(home_nursing_service(),) if draw(st.booleans()) else (),
        legevakt_by_municipality=LEGEVAKT_TABLE if draw(st.booleans()) else {},
    )


def _orgs(routes: Routes, level: Level) -> set[str]:
    chain = routes.chain(level)
    return {t.orgnr for t in (*chain.first, *chain.on_timeout)}


@given(responsibility_facts(), MOMENTS, WITHINS)
def test_a_higher_level_never_yields_fewer_targets_or_a_later_deadline(
    facts: ResponsibilityFacts, now: datetime, within: AcknowledgeWithin
) -> None:
    routes = route(facts, now)
    levels = list(Level)
    for lower, higher in zip(levels, levels[1:], strict=False):
        assert _orgs(routes, higher) >= _orgs(routes, lower), (lower, higher)
        assert {t.orgnr for t in routes.chain(higher).first} >= {t.orgnr for t in routes.chain(lower).first}
        assert routes.chain(higher).deadline(now, within) <= routes.chain(lower).deadline(now, within)
        # Deliverable at a lower level means deliverable at a higher one.
        assert routes.chain(higher).undeliverable <= routes.chain(lower).undeliverable
    for level in levels:
        assert facts.recorder_orgnr not in _orgs(routes, level)
        assert routes.chain(level).deadline(now, within) > now


ALLOWED_REFUSALS = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}


class PatientMachine(RuleBasedStateMachine):
    """One patient over time: measurements, people's actions and a sweeper firing timers, each
    step checked against the properties and replayed to show it changes nothing the second time."""

    @initialize(facts=responsibility_facts(), start=MOMENTS, within=WITHINS)
    def start(self, facts: ResponsibilityFacts, start: datetime, within: AcknowledgeWithin) -> None:
        self.facts, self.now, self.within = facts, start, within
        self.episode: Episode | None = None
        self.points: list[TrendPoint] = []
        self.seen_timers: list[Timer] = []
        self.count = 0

    def routes(self, by: str | None = None) -> Routes:
        facts = self.facts if by is None else replace(self.facts, recorder_orgnr=by)
        return route(facts, self.now)

    def _by(self, pick: int) -> str:
        """Who records or raises: mostly the source, else any organisation (a target among them)."""
        return self.facts.recorder_orgnr if pick < 50 else ORGS[pick % len(ORGS)]

    @staticmethod
    def _check_acting(before: Episode | None, step: Transition, by: str) -> None:
        """An organisation that opens or upgrades an episode is its recorder: told, never notified."""
        after = step.episode
        assert by not in {e.orgnr for e in step.effects if isinstance(e, Notify)}
        if after is not None and after.state is not State.RESOLVED and (before is None or after.level > before.level):
            assert {e.orgnr for e in step.effects if isinstance(e, TellRecorder)} == {by}
            assert after.recorder_orgnr == by

    def _take(self, step: Transition) -> None:
        if step.episode is not None:
            self.episode = step.episode
            self.seen_timers.extend(t for t in step.episode.timers if t not in self.seen_timers)

    @rule(minutes=st.sampled_from([1, 4, 6, 14, 16, 31, 90, 5 * 60, 25 * 60]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(score=SCORES, pick=st.integers(0, 99))
    def synced_late(self, score: tuple[int, bool], pick: int) -> None:
        """A device offline for 8 h syncs a measurement taken an hour into the outage (newer than
        any before it, but too old to escalate: TOO_OLD if it would have triggered)."""
        self.now += timedelta(hours=8)
        self.measure(score, 7 * 60, pick)

    @rule(score=SCORES, ago=st.sampled_from([0, 0, 0, 5, 90]), pick=st.integers(0, 99))
    def measure(self, score: tuple[int, bool], ago: int, pick: int) -> None:
        by = self._by(pick)
        self.count += 1
        at = self.now - timedelta(minutes=ago)
        m = measurement(at, score[0], red=score[1], mid=f"m{self.count}")
        newest = max((p.measured_at for p in self.points), default=None)
        evaluation = evaluate(m, PATIENT_BORN, self.points, now=self.now)
        self.points.append(TrendPoint(at, score[0]))
        before = self.episode if self.episode is not None and self.episode.state is not State.RESOLVED else None

        def apply(current: Episode | None) -> Transition:
            return record_measurement(
                current,
                measurement_id=m.measurement_id,
                measured_at=at,
                evaluation=evaluation,
                new_episode_id=f"e{self.count}",
                patient_id=PATIENT,
                source_orgnr=by,
                routes=self.routes(by),
                now=self.now,
                within=self.within,
            )

        step = apply(before)
        self._check_acting(before, step, by)
        notified = {e.orgnr for e in step.effects if isinstance(e, Notify)}
        if newest is not None and at < newest:  # late: never opens or upgrades
            assert evaluation.no_escalation is NoEscalation.LATE
            assert not notified
            assert step.episode is before or (
                before is not None and step.episode is not None and step.episode.level is before.level
            )
        if evaluation.level is Level.EMERGENCY and (before is None or before.level < Level.EMERGENCY):
            assert step.episode is not None and step.episode.level is Level.EMERGENCY
            assert notified == {t.orgnr for t in step.episode.targets if t.orgnr != by}  # never suppressed
        if before is not None and step.episode is not None and step.episode.level > before.level:
            self._check_upgrade(before, step.episode)
        if before is not None and step.episode is not None:
            self._check_auto_improved(step.episode, evaluation, newest is None or at > newest)
        if step.episode is not None:
            assert apply(step.episode) == Transition(step.episode)  # the same measurement again
        self._take(step)

    @staticmethod
    def _check_auto_improved(after: Episode, evaluation: Evaluation, newer: bool) -> None:
        """Only a measurement below every trigger resolves as improved; one that would have
        triggered (a level, or TOO_OLD: too old to escalate) restarts the count."""
        resolution = after.resolution
        if after.state is State.RESOLVED and resolution is not None and resolution.outcome is Outcome.AUTO_IMPROVED:
            assert evaluation.no_escalation is NoEscalation.BELOW_TRIGGER
        elif newer and (evaluation.level is not None or evaluation.no_escalation is NoEscalation.TOO_OLD):
            assert after.below_trigger_since_ack == 0

    def _check_upgrade(self, before: Episode, after: Episode) -> None:
        assert {t.orgnr for t in after.targets} >= {t.orgnr for t in before.targets}
        running = (
            before.state is State.OPEN
            and before.deadline is not None
            and before.deadline > self.now
            and not before.chain_exhausted
        )
        if running and after.deadline is not None:
            assert after.deadline <= before.deadline

    def _org(self, pick: int) -> str:
        """Mostly one of the episode's targets (so that actions succeed often), else any organisation."""
        targets = [t.orgnr for t in self.episode.targets] if self.episode is not None else []
        choices = targets * 3 + ORGS
        return choices[pick % len(choices)]

    def _act(self, call, again) -> None:  # type: ignore[no-untyped-def]
        if self.episode is None:
            return
        try:
            step = call(self.episode)
        except ServiceError as error:
            assert error.code in ALLOWED_REFUSALS, error
            return
        assert step.episode is not None
        assert again(step.episode) == Transition(step.episode)  # the same request again
        self._take(step)

    @rule(pick=st.integers(0, 99))
    def acknowledge(self, pick: int) -> None:
        org = self._org(pick)
        self.count += 1
        rid, now = f"a{self.count}", self.now
        self._act(
            lambda e: acknowledge(e, actor=actor(org), request_id=rid, now=now),
            lambda e: acknowledge(e, actor=actor(org), request_id=rid, now=now + timedelta(minutes=1)),
        )

    @rule(pick=st.integers(0, 99))
    def decline(self, pick: int) -> None:
        org = self._org(pick)
        self.count += 1
        rid, now, within = f"d{self.count}", self.now, self.within
        self._act(
            lambda e: decline(e, actor=actor(org), reason="Ikke vår", request_id=rid, now=now, within=within),
            lambda e: decline(e, actor=actor(org), reason="Ikke vår", request_id=rid, now=now, within=within),
        )

    @rule(pick=st.integers(0, 99), hours=st.integers(1, 30))
    def plan(self, pick: int, hours: int) -> None:
        org = self._org(pick)
        self.count += 1
        rid, now, at = f"p{self.count}", self.now, self.now + timedelta(hours=hours)
        self._act(
            lambda e: plan_reassessment(e, actor=actor(org), reassess_at=at, note="", request_id=rid, now=now),
            lambda e: plan_reassessment(
                e, actor=actor(org), reassess_at=at, note="", request_id=rid, now=now + timedelta(hours=40)
            ),
        )

    @rule(
        pick=st.integers(0, 99),
        outcome=st.sampled_from([Outcome.MANAGED_IN_PLACE, Outcome.SENT_TO_LEGEVAKT]),
        now_or_later=st.integers(0, 3),
    )
    def resolve(self, pick: int, outcome: Outcome, now_or_later: int) -> None:
        if now_or_later:  # people resolve seldom, so that episodes live long enough to time out
            return
        org = self._org(pick)
        self.count += 1
        rid, now = f"r{self.count}", self.now
        self._act(
            lambda e: resolve(e, actor=actor(org), outcome=outcome, note="", request_id=rid, now=now),
            lambda e: resolve(e, actor=actor(org), outcome=outcome, note="", request_id=rid, now=now),
        )

    @rule(level=st.sampled_from([*Level, Level.EMERGENCY, Level.EMERGENCY]), pick=st.integers(0, 99))
    def concern(self, level: Level, pick: int) -> None:
        by = self._by(pick)
        self.count += 1
        rid, now = f"c{self.count}", self.now
        current = self.episode if self.episode is not None and self.episode.state is not State.RESOLVED else None

        def call(e: Episode | None) -> Transition:
            return raise_concern(
                e,
                actor=actor(by),
                level=level,
                note="Bekymret",
                request_id=rid,
                new_episode_id=f"e{self.count}",
                patient_id=PATIENT,
                routes=self.routes(by),
                now=now,
                within=self.within,
            )

        try:
            step = call(current)
        except ServiceError as error:
            assert error.code in ALLOWED_REFUSALS, error
            return
        assert step.episode is not None
        self._check_acting(current, step, by)
        if level is Level.EMERGENCY:  # never suppressed, also not within 15 minutes
            told = {e.orgnr for e in step.effects if isinstance(e, Notify)}
            expected = {
                t.orgnr
                for t in step.episode.targets
                if t.orgnr != by and (current is None or current.level < level or t.can_take)
            }
            assert told == expected
        if current is not None:
            assert call(step.episode) == Transition(step.episode)
        self._take(step)

    @rule(stale=st.booleans())
    def sweep(self, stale: bool) -> None:
        """The sweeper fires every timer due (and, when `stale`, every one it ever saw)."""
        if self.episode is None:
            return
        timers = list(self.seen_timers) if stale else [t for t in self.episode.timers if t.due_at <= self.now]
        for timer in timers:
            step = fire_timer(self.episode, timer, now=self.now, within=self.within)
            assert fire_timer(step.episode, timer, now=self.now, within=self.within) == Transition(step.episode)  # type: ignore[arg-type]
            if timer not in self.episode.timers or timer.due_at > self.now:
                assert step == Transition(self.episode)
            self._take(step)

    @invariant()
    def bounded_and_never_closed_unacknowledged(self) -> None:
        episode = self.episode
        if episode is None:
            return
        assert len(episode.events) <= MAX_EVENTS_PER_EPISODE
        assert len(episode.measurements) <= MAX_MEASUREMENTS_KEPT
        assert len(episode.targets) <= MAX_TARGETS_PER_EPISODE
        assert len({t.kind for t in episode.timers}) == len(episode.timers)
        assert episode.source_orgnr not in {t.orgnr for t in episode.targets}
        if episode.timer(TimerKind.ACKNOWLEDGE) is not None:
            assert episode.state is State.OPEN and not episode.undeliverable
        if episode.state is State.REASSESSMENT_PLANNED:  # the plan holds it open until due
            assert episode.timer(TimerKind.AUTO_RESOLVE) is None and episode.timer(TimerKind.REASSESSMENT) is not None
        if episode.state is State.RESOLVED:
            assert episode.timers == () and episode.resolution is not None
            if episode.resolution.outcome in (Outcome.AUTO_IMPROVED, Outcome.AUTO_NO_WORSENING):
                assert episode.acknowledgement is not None  # nothing unacknowledged closes by itself
                assert episode.resolution.person is None


PatientMachine.TestCase.settings = settings(
    max_examples=80, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_an_episode_over_time = PatientMachine.TestCase
