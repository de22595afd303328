"""The auditors' escalation signals (docs/escalation.md, "Auditors' signals"): an escalation one of
an organisation's units acknowledged after the deadline it was given, and one whose chain was
exhausted where one of them was a target or the source. From an episode's events, its targets and
the deadlines its deliveries carried. No patient data: ids, levels, times, organisation numbers and
the acknowledging health person. Pure: no I/O."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .escalation_episodes import Event, EventKind
from .escalation_routing import TargetRole
from .escalation_rules import Level
from .vitals import Performer

__all__ = [
    "DEFAULT_SIGNAL_RANGE",
    "MAX_ESCALATION_SIGNAL_EVENTS",
    "MAX_SIGNAL_RANGE",
    "MAX_SIGNAL_RANGE_DAYS",
    "DeadlineGiven",
    "EpisodeFacts",
    "Part",
    "Signal",
    "SignalKind",
    "TargetAdded",
    "episode_signals",
    "signal_range",
    "signals",
]

# A request's range: 7 days by default, at most 31 (as the audit's ListSignals).
DEFAULT_SIGNAL_RANGE = timedelta(days=7)
MAX_SIGNAL_RANGE_DAYS = 31
MAX_SIGNAL_RANGE = timedelta(days=MAX_SIGNAL_RANGE_DAYS)
# Events (acknowledgements and exhaustions) one answer reads, the newest first; beyond it the
# answer says it was truncated.
MAX_ESCALATION_SIGNAL_EVENTS = 1000


class SignalKind(enum.Enum):
    ACKNOWLEDGED_LATE = "ACKNOWLEDGED_LATE"
    CHAIN_EXHAUSTED = "CHAIN_EXHAUSTED"


# The events a signal may come from.
SIGNAL_EVENTS = {
    SignalKind.ACKNOWLEDGED_LATE: EventKind.ACKNOWLEDGED,
    SignalKind.CHAIN_EXHAUSTED: EventKind.CHAIN_EXHAUSTED,
}


class Part(enum.Enum):
    """An organisation's part in the escalation the signal is about."""

    RESPONSIBLE = "RESPONSIBLE"
    INFORMED = "INFORMED"
    SOURCE = "SOURCE"


@dataclass(frozen=True, slots=True)
class DeadlineGiven:
    """A delivery's deadline: what an organisation was told to acknowledge by, and when."""

    orgnr: str
    at: datetime  # when it was delivered
    deadline: datetime


@dataclass(frozen=True, slots=True)
class TargetAdded:
    orgnr: str
    role: TargetRole
    added_at: datetime


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """What the signals read of one episode: its opening, source, targets added (not pending),
    the events that may be signals, and every deadline its deliveries carried (in delivery order)."""

    episode_id: str
    opened_at: datetime
    source_orgnr: str
    targets: tuple[TargetAdded, ...]
    events: tuple[Event, ...]
    deadlines: tuple[DeadlineGiven, ...]


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    episode_id: str
    level: Level
    opened_at: datetime
    deadline: datetime | None
    at: datetime  # the acknowledgement or the exhaustion
    orgnr: str  # the auditor's organisation concerned
    part: Part
    person: Performer | None = None  # who acknowledged
    late_by: timedelta | None = None


def _last_deadline(deadlines: Iterable[DeadlineGiven], at: datetime, orgnr: str | None = None) -> datetime | None:
    """The deadline of the last delivery at or before `at` (to `orgnr`, or to anyone)."""
    found = None
    for given in deadlines:
        if given.at <= at and (orgnr is None or given.orgnr == orgnr):
            found = given.deadline
    return found


def _part(role: TargetRole) -> Part:
    return Part.RESPONSIBLE if role is TargetRole.RESPONSIBLE else Part.INFORMED


def episode_signals(
    facts: EpisodeFacts, organisations: Collection[str], kinds: Collection[SignalKind] = frozenset(SignalKind)
) -> list[Signal]:
    """The episode's signals for an auditor of `organisations` (a legal entity and its units), in
    event order:

    - ACKNOWLEDGED_LATE: an acknowledgement by one of them after the deadline of the last delivery
      to it before the acknowledgement (its deadline; one acknowledged with no deadline given, or at
      the deadline itself, is not late);
    - CHAIN_EXHAUSTED: an exhaustion while one of them was a target (added by then), else the
      source; the deadline is the last one delivered to anyone before it."""
    found: list[Signal] = []
    for event in facts.events:
        if event.kind is EventKind.ACKNOWLEDGED and SignalKind.ACKNOWLEDGED_LATE in kinds:
            if event.orgnr not in organisations:
                continue
            deadline = _last_deadline(facts.deadlines, event.at, event.orgnr)
            if deadline is None or event.at <= deadline:
                continue
            found.append(
                Signal(
                    SignalKind.ACKNOWLEDGED_LATE,
                    facts.episode_id,
                    event.level,
                    facts.opened_at,
                    deadline,
                    event.at,
                    event.orgnr,
                    Part.RESPONSIBLE,  # only a responsible target acknowledges
                    person=event.person,
                    late_by=event.at - deadline,
                )
            )
        elif event.kind is EventKind.CHAIN_EXHAUSTED and SignalKind.CHAIN_EXHAUSTED in kinds:
            ours = [t for t in facts.targets if t.orgnr in organisations and t.added_at <= event.at]
            if ours:
                orgnr, part = ours[0].orgnr, _part(ours[0].role)
            elif facts.source_orgnr in organisations:
                orgnr, part = facts.source_orgnr, Part.SOURCE
            else:
                continue
            deadline = _last_deadline(facts.deadlines, event.at)
            found.append(
                Signal(
                    SignalKind.CHAIN_EXHAUSTED,
                    facts.episode_id,
                    event.level,
                    facts.opened_at,
                    deadline,
                    event.at,
                    orgnr,
                    part,
                )
            )
    return found


def signals(
    episodes: Iterable[EpisodeFacts],
    organisations: Collection[str],
    start: datetime,
    end: datetime,
    kinds: Collection[SignalKind] = frozenset(SignalKind),
) -> list[Signal]:
    """Every episode's signals whose event falls in [start, end), newest first (ties by escalation
    id, then kind, so a page token's index names the same signal while nothing new arrives)."""
    found: Sequence[Signal] = [
        s for facts in episodes for s in episode_signals(facts, organisations, kinds) if start <= s.at < end
    ]
    return sorted(found, key=lambda s: (-s.at.timestamp(), s.episode_id, s.kind.value, s.orgnr))


def signal_range(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime, dict[str, str]]:
    """A request's range: the end now by default, the start DEFAULT_SIGNAL_RANGE before the end; the
    start before the end, at most MAX_SIGNAL_RANGE apart (else the field is named)."""
    end = end or now
    problems: dict[str, str] = {}
    try:
        start = start or end - DEFAULT_SIGNAL_RANGE
    except OverflowError:  # an end_time in year 1
        return end, end, {"end_time": "too early"}
    if start >= end:
        problems["start_time"] = "before end_time"
    elif end - start > MAX_SIGNAL_RANGE:
        problems["end_time"] = f"at most {MAX_SIGNAL_RANGE.days} days after start_time"
    return start, end, problems
