"""A representation's status (ListRepresentations) and whether it lets its representative act
(the consent decision's `represents`) come from one rule, `representation_status`: in force
within its period and, for a guardian, while the child is under 12 by the date in Norway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.consent.decision import representation_status, represents
from services.consent.domain import Representation, RepresentationKind, RepresentationStatus
from services.platform.actors import Actor
from services.platform.vocabulary import ActorKind
from tests.fixtures import people

LIV, ASTRID = people.LIV, people.ASTRID
# Jonas turns 12 at midnight in Oslo on 2026-03-14: 23:00 UTC the day before (CET, UTC+1).
OSLO_MIDNIGHT = datetime(2026, 3, 13, 23, 0, tzinfo=UTC)
JUST_BEFORE = OSLO_MIDNIGHT - timedelta(microseconds=1)

JONAS_GUARDIAN = Representation(
    "rep-seed-0003",
    people.JONAS,
    people.MIKKEL,
    RepresentationKind.GUARDIAN,
    datetime(2014, 3, 14, tzinfo=UTC),
    datetime(2032, 3, 14, tzinfo=UTC),
    "Jonas Jubileumsen",
)
FRIDA_GUARDIAN = Representation(
    "rep-seed-0001",
    people.FRIDA,
    people.MIKKEL,
    RepresentationKind.GUARDIAN,
    datetime(2022, 1, 26, tzinfo=UTC),
    datetime(2034, 1, 26, tzinfo=UTC),
    "Frida Fantasisen",
)
LIV_ATTORNEY = Representation(
    "rep-seed-0002",
    LIV,
    ASTRID,
    RepresentationKind.POWER_OF_ATTORNEY,
    datetime(2025, 2, 1, tzinfo=UTC),
    datetime(2030, 2, 1, tzinfo=UTC),
    "Liv Liksomsen",
)


def person(pid: str) -> Actor:
    return Actor(ActorKind.PATIENT, pid=pid)


@pytest.mark.parametrize(
    ("rep", "now", "status"),
    [
        # Around Jonas's 12th birthday: the Oslo date decides, not the UTC date (still the 13th).
        (JONAS_GUARDIAN, JUST_BEFORE, RepresentationStatus.IN_FORCE),
        (JONAS_GUARDIAN, OSLO_MIDNIGHT, RepresentationStatus.CHILD_TURNED_12),
        (JONAS_GUARDIAN, datetime(2026, 12, 4, 12, tzinfo=UTC), RepresentationStatus.CHILD_TURNED_12),
        (JONAS_GUARDIAN, datetime(2014, 3, 13, 23, 59, tzinfo=UTC), RepresentationStatus.NOT_YET_VALID),
        (JONAS_GUARDIAN, datetime(2032, 3, 14, tzinfo=UTC), RepresentationStatus.ENDED),  # the period ends first
        (FRIDA_GUARDIAN, datetime(2026, 12, 4, 12, tzinfo=UTC), RepresentationStatus.IN_FORCE),
        (FRIDA_GUARDIAN, datetime(2034, 1, 25, 22, 59, tzinfo=UTC), RepresentationStatus.IN_FORCE),
        (FRIDA_GUARDIAN, datetime(2034, 1, 25, 23, 0, tzinfo=UTC), RepresentationStatus.CHILD_TURNED_12),
        # A power of attorney has no age rule: its period alone decides (valid_until is exclusive).
        (LIV_ATTORNEY, datetime(2026, 12, 4, tzinfo=UTC), RepresentationStatus.IN_FORCE),
        (LIV_ATTORNEY, datetime(2030, 2, 1, tzinfo=UTC) - timedelta(microseconds=1), RepresentationStatus.IN_FORCE),
        (LIV_ATTORNEY, datetime(2030, 2, 1, tzinfo=UTC), RepresentationStatus.ENDED),
        (LIV_ATTORNEY, datetime(2025, 1, 31, 23, 59, tzinfo=UTC), RepresentationStatus.NOT_YET_VALID),
    ],
)
def test_the_status_and_the_decision_agree(rep: Representation, now: datetime, status: RepresentationStatus) -> None:
    assert representation_status(rep, now) is status
    assert represents(rep, person(rep.representative_pid), rep.patient_id, now) is (
        status is RepresentationStatus.IN_FORCE
    )


def test_represents_also_needs_the_right_people_whatever_the_status() -> None:
    assert representation_status(JONAS_GUARDIAN, JUST_BEFORE) is RepresentationStatus.IN_FORCE
    assert not represents(JONAS_GUARDIAN, person(ASTRID), people.JONAS, JUST_BEFORE)
    assert not represents(JONAS_GUARDIAN, person(people.MIKKEL), people.FRIDA, JUST_BEFORE)
    assert not represents(JONAS_GUARDIAN, Actor(ActorKind.PERSONNEL, pid=people.MIKKEL), people.JONAS, JUST_BEFORE)


def test_an_unreadable_birth_date_is_no_longer_represented() -> None:
    unreadable = Representation(
        "rep-x", "99999999999", people.MIKKEL, RepresentationKind.GUARDIAN, datetime(2014, 1, 1, tzinfo=UTC)
    )
    assert representation_status(unreadable, JUST_BEFORE) is RepresentationStatus.ENDED
    assert not represents(unreadable, person(people.MIKKEL), "99999999999", JUST_BEFORE)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        representation_status(JONAS_GUARDIAN, datetime(2026, 3, 14))
