"""The auditors' escalation signals, the pure rule (services/summary/escalation_signals.py): episodes
are driven through the core's own transitions with an injected time, and the deadlines are those
the transitions' notifications carried, as the store keeps them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.summary.escalation_episodes import (
    Episode,
    EventKind,
    Notify,
    TimerKind,
    Transition,
    acknowledge,
    fire_timer,
)
from services.summary.escalation_rules import AcknowledgeWithin, Level
from services.summary.escalation_signals import (
    MAX_SIGNAL_RANGE,
    DeadlineGiven,
    EpisodeFacts,
    Part,
    SignalKind,
    TargetAdded,
    episode_signals,
    signal_range,
    signals,
)
from services.summary.vitals import Performer
from tests.fixtures import people
from tests.fixtures.escalation import HOME_NURSING, LEGEVAKT, OTHER_ORG, RECORDER, actor, first_concern, minutes, routes

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
BODO = {"910000012", HOME_NURSING, LEGEVAKT}  # Bodø kommune and its points of care
BAERUM = {"910000047", RECORDER}  # the recorder's legal entity
STRANGER = {"910000101", OTHER_ORG}
KRISTIN = actor(RECORDER, people.KRISTIN_HPR, "Kristin Korttidsen")
LARS = actor(LEGEVAKT, people.LARS_HPR, "Lars Legevaktsen")
SIGRID = actor(HOME_NURSING, people.SIGRID_HPR, "Sigrid Sykepleiersen")
WITHIN = AcknowledgeWithin()


class Recorded:
    """An episode driven through the core, with the deadlines its notifications carried."""

    def __init__(self, step: Transition, at: datetime) -> None:
        assert step.episode is not None
        self.episode: Episode = step.episode
        self.deadlines: list[DeadlineGiven] = []
        self._keep(step, at)

    def _keep(self, step: Transition, at: datetime) -> None:
        assert step.episode is not None
        self.episode = step.episode
        self.deadlines += [
            DeadlineGiven(e.orgnr, at, e.deadline) for e in step.effects if isinstance(e, Notify) and e.deadline
        ]

    def acknowledge(self, by, at: datetime) -> None:
        self._keep(acknowledge(self.episode, actor=by, request_id=f"a-{at.isoformat()}", now=at), at)

    def time_out(self) -> datetime:
        (timer,) = [t for t in self.episode.timers if t.kind is TimerKind.ACKNOWLEDGE]
        self._keep(fire_timer(self.episode, timer, now=timer.due_at, within=WITHIN), timer.due_at)
        return timer.due_at

    def facts(self) -> EpisodeFacts:
        e = self.episode
        return EpisodeFacts(
            episode_id=e.episode_id,
            opened_at=e.opened_at,
            source_orgnr=e.source_orgnr,
            targets=tuple(TargetAdded(t.orgnr, t.target.role, t.added_at) for t in e.targets),
            events=e.events,
            deadlines=tuple(self.deadlines),
        )


def emergency(at: datetime = T0, episode_id: str = "e1") -> Recorded:
    """An EMERGENCY raised by the recorder (Bærum): the legevakt and home nursing responsible,
    5 minutes to acknowledge, nobody left in the chain after them."""
    return Recorded(first_concern(KRISTIN, Level.EMERGENCY, "dårlig", at, new_episode_id=episode_id), at)


def urgent_review(at: datetime = T0) -> Recorded:
    """An URGENT_REVIEW to home nursing (30 minutes), the legevakt added on its timeout."""
    step = first_concern(KRISTIN, Level.URGENT_REVIEW, "bekymret", at, routed=routes(at, follow_up=False))
    return Recorded(step, at)


def test_an_acknowledgement_after_the_deadline_is_late_by_how_much_and_names_the_person() -> None:
    episode = emergency()
    episode.acknowledge(LARS, T0 + minutes(7))
    (signal,) = episode_signals(episode.facts(), BODO)
    assert signal.kind is SignalKind.ACKNOWLEDGED_LATE
    assert (signal.episode_id, signal.level, signal.opened_at) == ("e1", Level.EMERGENCY, T0)
    assert (signal.deadline, signal.at, signal.late_by) == (T0 + minutes(5), T0 + minutes(7), minutes(2))
    assert (signal.orgnr, signal.part) == (LEGEVAKT, Part.RESPONSIBLE)
    assert signal.person == Performer(people.LARS_HPR, "Lars Legevaktsen")


@pytest.mark.parametrize("after", [minutes(0), minutes(3), minutes(5)], ids=["at-once", "within", "at-the-deadline"])
def test_an_acknowledgement_by_the_deadline_is_no_signal(after: timedelta) -> None:
    episode = emergency()
    episode.acknowledge(LARS, T0 + after)
    assert episode_signals(episode.facts(), BODO) == []


def test_a_late_acknowledgement_is_the_acknowledging_organisations_signal_only() -> None:
    episode = emergency()
    episode.acknowledge(SIGRID, T0 + minutes(6))
    assert [s.orgnr for s in episode_signals(episode.facts(), BODO)] == [HOME_NURSING]
    # The source and an organisation not concerned see no lateness (the exhaustion is another kind).
    assert episode_signals(episode.facts(), BAERUM) == []
    assert episode_signals(episode.facts(), STRANGER) == []


def test_lateness_is_against_the_deadline_the_acknowledging_organisation_was_given() -> None:
    # Home nursing's 30 minutes pass; the legevakt, added on the timeout, gets 30 minutes of its own.
    taken_by_home_nursing = urgent_review()
    assert taken_by_home_nursing.time_out() == T0 + minutes(30)
    taken_by_home_nursing.acknowledge(SIGRID, T0 + minutes(40))
    (late,) = episode_signals(taken_by_home_nursing.facts(), BODO)
    assert (late.orgnr, late.deadline, late.late_by) == (HOME_NURSING, T0 + minutes(30), minutes(10))

    taken_by_the_legevakt = urgent_review()
    taken_by_the_legevakt.time_out()
    taken_by_the_legevakt.acknowledge(LARS, T0 + minutes(40))  # within its own deadline, T0 + 60 min
    assert episode_signals(taken_by_the_legevakt.facts(), BODO) == []


def test_an_exhausted_chain_is_a_signal_to_every_target_and_the_source() -> None:
    episode = emergency()
    exhausted_at = episode.time_out()
    assert [e.kind for e in episode.episode.events][-2:] == [EventKind.TIMEOUT, EventKind.CHAIN_EXHAUSTED]
    (to_bodo,) = episode_signals(episode.facts(), BODO)
    assert to_bodo.kind is SignalKind.CHAIN_EXHAUSTED
    assert (to_bodo.at, to_bodo.deadline, to_bodo.late_by, to_bodo.person) == (
        exhausted_at,
        T0 + minutes(5),
        None,
        None,
    )
    assert (to_bodo.orgnr, to_bodo.part) == (LEGEVAKT, Part.RESPONSIBLE)  # the first of its targets
    (to_baerum,) = episode_signals(episode.facts(), BAERUM)
    assert (to_baerum.orgnr, to_baerum.part) == (RECORDER, Part.SOURCE)
    assert episode_signals(episode.facts(), STRANGER) == []
    # Taken late after all: both signals, each in its kind.
    episode.acknowledge(LARS, exhausted_at + minutes(1))
    assert [s.kind for s in episode_signals(episode.facts(), BODO)] == [
        SignalKind.CHAIN_EXHAUSTED,
        SignalKind.ACKNOWLEDGED_LATE,
    ]
    assert [s.kind for s in episode_signals(episode.facts(), BODO, {SignalKind.ACKNOWLEDGED_LATE})] == [
        SignalKind.ACKNOWLEDGED_LATE
    ]


def test_a_target_added_after_the_exhaustion_is_not_told_of_it() -> None:
    episode = emergency()
    at = episode.time_out()
    facts = episode.facts()
    later = EpisodeFacts(
        **{
            **{f: getattr(facts, f) for f in ("episode_id", "opened_at", "source_orgnr", "events", "deadlines")},
            "targets": tuple(
                TargetAdded(t.orgnr, t.role, at + minutes(1) if t.orgnr == HOME_NURSING else t.added_at)
                for t in facts.targets
            ),
        }
    )
    assert [s.orgnr for s in episode_signals(later, {HOME_NURSING})] == []
    assert [s.orgnr for s in episode_signals(later, {LEGEVAKT})] == [LEGEVAKT]


def test_signals_in_a_range_newest_first() -> None:
    first, second = emergency(T0, "e1"), emergency(T0 + timedelta(hours=1), "e2")
    first.acknowledge(LARS, T0 + minutes(6))
    second.time_out()
    found = signals([first.facts(), second.facts()], BODO, T0, T0 + timedelta(days=1))
    assert [(s.episode_id, s.kind) for s in found] == [
        ("e2", SignalKind.CHAIN_EXHAUSTED),
        ("e1", SignalKind.ACKNOWLEDGED_LATE),
    ]
    # [start, end): an event at the end is left out, one at the start kept.
    assert signals([first.facts()], BODO, T0, T0 + minutes(6)) == []
    assert len(signals([first.facts()], BODO, T0 + minutes(6), T0 + minutes(7))) == 1


def test_the_range_defaults_to_the_last_seven_days_and_is_bounded() -> None:
    now = T0
    assert signal_range(None, None, now) == (now - timedelta(days=7), now, {})
    assert signal_range(None, T0 - timedelta(days=1), now)[:2] == (T0 - timedelta(days=8), T0 - timedelta(days=1))
    assert signal_range(T0, T0, now)[2] == {"start_time": "before end_time"}
    assert signal_range(T0 - MAX_SIGNAL_RANGE, T0, now)[2] == {}
    assert signal_range(T0 - MAX_SIGNAL_RANGE - timedelta(seconds=1), T0, now)[2] == {
        "end_time": "at most 31 days after start_time"
    }
    assert signal_range(None, datetime(1, 1, 2, tzinfo=UTC), now)[2] == {"end_time": "too early"}
