"""Who an escalation reaches (docs/escalation.md, "Who is responsible"): the ordered chain of
targets per level, from plain facts a store fills (the patient's follow-up enrolments, municipal
services and municipality, the legevakt table, the recorder's organisation) and the time.

In order of responsibility:
1. a hospital follow-up team with an active enrolment: primary for REVIEW and URGENT_REVIEW
   while open (its opening hours are Europe/Oslo wall-clock times), informed for URGENT and
   EMERGENCY (responsible there only when nobody below can be found and it is open);
2. the home-nursing point of care (IPLOS 15) of the patient's active municipal service, the most
   recently started (one on hold is not active, so it is skipped);
3. the legevakt serving the patient's municipality;
4. nobody: the chain is undeliverable and the episode goes back to the recorder with the phone
   numbers (113, 116117).
The recorder's own organisation is never a target.

Pure: no I/O; `now` is passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from services.platform.norway_date import NORWAY, day_in_norway

from .escalation_rules import AcknowledgeWithin, Level
from .okt import MunicipalService, is_active

__all__ = [
    "HOME_NURSING_IPLOS",
    "MAX_CLOSED_DAYS",
    "MAX_OPENING_INTERVALS",
    "MAX_TARGETS_PER_EPISODE",
    "Chain",
    "FollowUpEnrolment",
    "Legevakt",
    "OpeningHours",
    "OpeningInterval",
    "ResponsibilityFacts",
    "Routes",
    "Target",
    "TargetKind",
    "TargetRole",
    "route",
]

# IPLOS code list 9151: "Helsetjenester i hjemmet" (home nursing).
HOME_NURSING_IPLOS = "15"
# Targets an episode holds at most (a chain names at most three organisations; upgrades may add
# a new home-nursing point of care or legevakt if the facts changed in between).
MAX_TARGETS_PER_EPISODE = 8
MAX_OPENING_INTERVALS = 28  # four a day
MAX_CLOSED_DAYS = 400  # a year of holidays and then some
_MINUTES_A_DAY = 24 * 60
# Opening hours that are open at all are open within a year; the search for open time stops there.
_SEARCH_DAYS = 400


@dataclass(frozen=True, slots=True)
class OpeningInterval:
    """Open on `weekday` (0 Monday - 6 Sunday) from `start` to `end`, minutes after local
    midnight in Europe/Oslo (0 <= start < end <= 1440; 1440 is the next midnight)."""

    weekday: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start < self.end <= _MINUTES_A_DAY:
            raise ValueError("an opening interval runs from a start to a later end within one day")


def _local_instant(day: date, minute: int) -> datetime:
    """The UTC instant of a wall-clock minute of a Norwegian day. A wall time that does not exist
    (the spring gap, 02:00-03:00 on the last Sunday of March) is read with the offset before the
    gap, i.e. one hour later; one that occurs twice (the autumn repeat) is its first occurrence."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return wall.replace(tzinfo=NORWAY).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A team's weekly opening hours in Europe/Oslo, less whole days it is closed (holidays)."""

    intervals: tuple[OpeningInterval, ...]
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.intervals:
            raise ValueError("opening hours need at least one interval")
        if len(self.intervals) > MAX_OPENING_INTERVALS or len(self.closed_days) > MAX_CLOSED_DAYS:
            raise ValueError(f"at most {MAX_OPENING_INTERVALS} intervals and {MAX_CLOSED_DAYS} closed days")

    @classmethod
    def weekdays(cls, start: time, end: time, closed_days: Iterable[date] = ()) -> OpeningHours:
        """Monday to Friday from `start` to `end` (time(0) as `end` is midnight)."""
        first = start.hour * 60 + start.minute
        last = end.hour * 60 + end.minute or _MINUTES_A_DAY
        return cls(tuple(OpeningInterval(day, first, last) for day in range(5)), frozenset(closed_days))

    def _open_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.closed_days:
            return []
        spans = [
            (_local_instant(day, i.start), _local_instant(day, i.end))
            for i in self.intervals
            if i.weekday == day.weekday()
        ]
        return sorted(span for span in spans if span[0] < span[1])

    def is_open(self, at: datetime) -> bool:
        day = day_in_norway(at)
        return any(start <= at < end for start, end in self._open_spans(day))

    def open_time_after(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of open time has passed since `start` (real elapsed
        time, so a 25-hour autumn day that is open all day counts 25 hours). Raises ValueError
        when the hours give that much open time within _SEARCH_DAYS (e.g. every day closed)."""
        remaining = duration
        day = day_in_norway(start)
        for _ in range(_SEARCH_DAYS):
            for span_start, span_end in self._open_spans(day):
                begin = max(span_start, start)
                if begin >= span_end:
                    continue
                if span_end - begin >= remaining:
                    return begin + remaining
                remaining -= span_end - begin
            day += timedelta(days=1)
        raise ValueError("the opening hours give too little open time")


ALWAYS_OPEN = OpeningHours(tuple(OpeningInterval(day, 0, _MINUTES_A_DAY) for day in range(7)))


@dataclass(frozen=True, slots=True)
class FollowUpEnrolment:
    """A hospital follow-up team's enrolment of the patient (digital home follow-up)."""

    team_orgnr: str
    hours: OpeningHours
    started_at: datetime
    ended_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.started_at <= now and (self.ended_at is None or now < self.ended_at)


@dataclass(frozen=True, slots=True)
class Legevakt:
    orgnr: str
    name: str


@dataclass(frozen=True, slots=True)
class ResponsibilityFacts:
    """What routing reads, as a store fills it."""

    recorder_orgnr: str
    municipality_number: str
    enrolments: tuple[FollowUpEnrolment, ...] = ()
    services: tuple[MunicipalService, ...] = ()
    legevakt_by_municipality: Mapping[str, Legevakt] = field(default_factory=dict)


class TargetKind(enum.Enum):
    FOLLOW_UP_TEAM = "FOLLOW_UP_TEAM"
    HOME_NURSING = "HOME_NURSING"
    LEGEVAKT = "LEGEVAKT"


class TargetRole(enum.Enum):
    RESPONSIBLE = "RESPONSIBLE"  # may acknowledge or decline; its acknowledgement stops the chain
    INFORMED = "INFORMED"  # told, for information (a follow-up team at URGENT and EMERGENCY)


@dataclass(frozen=True, slots=True)
class Target:
    orgnr: str
    kind: TargetKind
    role: TargetRole


@dataclass(frozen=True, slots=True)
class Chain:
    """One level's chain: the first targets, then the one added on each timeout, in order; or,
    where a timeout adds nobody (REVIEW), the one added on each decline (`on_decline`: the next
    responsible in the order of responsibility). `hours` are the opening hours the
    acknowledge-within time counts in (REVIEW with a follow-up team as primary); None counts every hour."""

    level: Level
    first: tuple[Target, ...]
    on_timeout: tuple[Target, ...] = ()
    hours: OpeningHours | None = None
    on_decline: tuple[Target, ...] = ()

    @property
    def pending(self) -> tuple[Target, ...]:
        """The targets an episode adds one by one after the first (a chain has one list or the other)."""
        return self.on_timeout or self.on_decline

    @property
    def undeliverable(self) -> bool:
        """No responsible target at all: the episode goes back to the recorder."""
        return not any(t.role is TargetRole.RESPONSIBLE for t in (*self.first, *self.pending))

    def deadline(self, start: datetime, within: AcknowledgeWithin) -> datetime:
        wait = within.for_level(self.level)
        return start + wait if self.hours is None else self.hours.open_time_after(start, wait)


@dataclass(frozen=True, slots=True)
class Routes:
    """The chain of every level, routed once for one moment."""

    chains: Mapping[Level, Chain]

    def chain(self, level: Level) -> Chain:
        return self.chains[level]


def _follow_up(facts: ResponsibilityFacts, now: datetime) -> FollowUpEnrolment | None:
    active = [e for e in facts.enrolments if e.active(now) and e.team_orgnr != facts.recorder_orgnr]
    return max(active, key=lambda e: (e.started_at, e.team_orgnr), default=None)


def _home_nursing(facts: ResponsibilityFacts, now: datetime) -> str | None:
    today = day_in_norway(now)
    active = [
        s
        for s in facts.services
        if s.iplos_code == HOME_NURSING_IPLOS and is_active(s, today) and s.provider_orgnr != facts.recorder_orgnr
    ]
    best = max(active, key=lambda s: (s.start_date or date.min, s.service_id), default=None)
    return None if best is None else best.provider_orgnr


def _legevakt(facts: ResponsibilityFacts) -> str | None:
    legevakt = facts.legevakt_by_municipality.get(facts.municipality_number)
    return None if legevakt is None or legevakt.orgnr == facts.recorder_orgnr else legevakt.orgnr


def _distinct(targets: Iterable[Target | None]) -> tuple[Target, ...]:
    seen: set[str] = set()
    kept: list[Target] = []
    for target in targets:
        if target is not None and target.orgnr not in seen:
            seen.add(target.orgnr)
            kept.append(target)
    return tuple(kept)


def route(facts: ResponsibilityFacts, now: datetime) -> Routes:
    """Every level's chain for the patient at `now` (the order of docs/escalation.md)."""
    responsible, informed = TargetRole.RESPONSIBLE, TargetRole.INFORMED
    enrolment = _follow_up(facts, now)
    team_open = enrolment is not None and enrolment.hours.is_open(now)
    home = _home_nursing(facts, now)
    home_nursing = None if home is None else Target(home, TargetKind.HOME_NURSING, responsible)
    lv = _legevakt(facts)
    legevakt = None if lv is None else Target(lv, TargetKind.LEGEVAKT, responsible)

    # REVIEW and URGENT_REVIEW: the follow-up team while open, else home nursing, else the legevakt.
    team = None if enrolment is None else Target(enrolment.team_orgnr, TargetKind.FOLLOW_UP_TEAM, responsible)
    primary = (team if team_open else None) or home_nursing or legevakt
    review_hours = enrolment.hours if enrolment is not None and primary is team and team_open else None
    # A REVIEW declined passes on at once to the next responsible (its timeout only leaves it overdue).
    after_primary = [t for t in (home_nursing, legevakt) if t is not None and t != primary]
    review = Chain(Level.REVIEW, _distinct([primary]), hours=review_hours, on_decline=_distinct(after_primary))
    later = () if legevakt is None or primary == legevakt else (legevakt,)
    urgent_review = Chain(Level.URGENT_REVIEW, _distinct([primary]), later)

    # URGENT and EMERGENCY: home nursing and the legevakt; the follow-up team is informed, and
    # responsible only when neither exists and it is open.
    if team is not None and (home_nursing is not None or legevakt is not None or not team_open):
        team = Target(team.orgnr, TargetKind.FOLLOW_UP_TEAM, informed)
    urgent = Chain(Level.URGENT, _distinct([home_nursing, legevakt, team]))
    emergency = Chain(Level.EMERGENCY, _distinct([legevakt, home_nursing, team]))
    return Routes({chain.level: chain for chain in (review, urgent_review, urgent, emergency)})
