"""Who is responsible for a patient, as the summary service keeps it (docs/escalation.md, "Who is
responsible"): the legevakt table (municipality → legevakt; an inter-municipal legevakt serves
several municipalities) and follow-up enrolments (a hospital follow-up team enrolled for a
patient, with opening hours in Europe/Oslo, started and perhaps ended, enrolled by a health
person). Routing reads the core's values (escalation_routing); this module holds what the store
keeps besides them and how opening hours are written as JSON.

Pure: no I/O, no clock."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.platform.ids import validate_hpr_number, validate_org_number

from .escalation_routing import FollowUpEnrolment, Legevakt, OpeningHours
from .escalation_routing import OpeningInterval as Interval

__all__ = [
    "MAX_ACTIVE_ENROLMENTS",
    "MAX_LEGEVAKT_MUNICIPALITIES",
    "Enrolment",
    "LegevaktEntry",
    "hours_from_json",
    "hours_of_stored",
    "hours_to_json",
    "legevakt_table",
]

# Follow-up enrolments one patient may have active at once (a patient followed by more than a
# few hospital teams at home at the same time is a data error, not a care pattern).
MAX_ACTIVE_ENROLMENTS = 4
# Municipalities one legevakt serves at most (the largest inter-municipal legevakts serve ~20).
MAX_LEGEVAKT_MUNICIPALITIES = 60


@dataclass(frozen=True, slots=True)
class LegevaktEntry:
    """One legevakt of the table: the municipalities (numbers) it serves and its phone number."""

    orgnr: str
    name: str
    phone: str
    municipality_numbers: tuple[str, ...]

    def __post_init__(self) -> None:
        validate_org_number(self.orgnr)
        if not self.name or not self.phone.isdigit():
            raise ValueError(f"legevakt {self.orgnr}: a name and a phone number (digits) are required")
        numbers = self.municipality_numbers
        if not 1 <= len(numbers) <= MAX_LEGEVAKT_MUNICIPALITIES or len(set(numbers)) != len(numbers):
            raise ValueError(f"legevakt {self.orgnr}: 1 to {MAX_LEGEVAKT_MUNICIPALITIES} distinct municipality numbers")
        if not all(len(n) == 4 and n.isdigit() for n in numbers):
            raise ValueError(f"legevakt {self.orgnr}: a municipality number is four digits")


def legevakt_table(entries: Iterable[LegevaktEntry]) -> dict[str, Legevakt]:
    """Municipality number → the legevakt serving it; a municipality served twice is refused."""
    table: dict[str, Legevakt] = {}
    for entry in entries:
        for number in entry.municipality_numbers:
            if number in table:
                raise ValueError(f"municipality {number} is served by {table[number].orgnr} and {entry.orgnr}")
            table[number] = Legevakt(entry.orgnr, entry.name)
    return table


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A follow-up enrolment as stored: the core's value (`enrolment`), its id, the team's name,
    who enrolled (and ended) it, by HPR number and name, and the request ids of the API calls that
    enrolled and ended it (None for seeded ones). Seeded enrolments and those stored before
    migration 0007 have empty names."""

    enrolment_id: str
    patient_id: str
    enrolment: FollowUpEnrolment
    enrolled_by_hpr: str
    ended_by_hpr: str | None = None
    team_name: str = ""
    enrolled_by_name: str = ""
    ended_by_name: str | None = None
    request_id: str | None = None
    ended_request_id: str | None = None

    def __post_init__(self) -> None:
        validate_org_number(self.enrolment.team_orgnr)
        validate_hpr_number(self.enrolled_by_hpr)
        if self.ended_by_hpr is not None:
            validate_hpr_number(self.ended_by_hpr)
        ended = self.enrolment.ended_at
        if ended is not None and ended < self.enrolment.started_at:
            raise ValueError("an enrolment ends after it started")
        for at in (self.enrolment.started_at, ended):
            if at is not None and at.tzinfo is None:
                raise ValueError("enrolment times are timezone-aware")

    def active(self, now: datetime) -> bool:
        return self.enrolment.active(now)


def _minute(text: str) -> int:
    """'HH:MM' as minutes after midnight; '24:00' is the next midnight."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"{text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day")
    return value


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hours_from_json(intervals: Iterable[Mapping[str, Any]], closed_days: Iterable[str] = ()) -> OpeningHours:
    """Opening hours from their JSON form: intervals {"weekday": 0 (Monday) - 6, "start": "HH:MM",
    "end": "HH:MM"} in Europe/Oslo, and closed days "YYYY-MM-DD". ValueError when malformed."""
    return OpeningHours(
        tuple(Interval(int(i["weekday"]), _minute(i["start"]), _minute(i["end"])) for i in intervals),
        frozenset(date.fromisoformat(d) for d in closed_days),
    )


def hours_to_json(hours: OpeningHours) -> str:
    """The stored form of opening hours (read back by `hours_of_stored`)."""
    return json.dumps(
        {
            "intervals": [
                {"weekday": i.weekday, "start": _clock(i.start), "end": _clock(i.end)} for i in hours.intervals
            ],
            "closed_days": sorted(d.isoformat() for d in hours.closed_days),
        },
        separators=(",", ":"),
    )


def hours_of_stored(text: str) -> OpeningHours:
    value = json.loads(text)
    return hours_from_json(value["intervals"], value["closed_days"])
