"""Who an escalation reaches, in order, and opening hours in Europe/Oslo across weekends and the
daylight-saving days (docs/escalation.md, "Who is responsible")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.platform.norway_date import NORWAY
from services.summary.escalation_routing import (
    ALWAYS_OPEN,
    FollowUpEnrolment,
    OpeningHours,
    OpeningInterval,
    ResponsibilityFacts,
    Target,
    TargetKind,
    TargetRole,
    route,
)
from services.summary.escalation_rules import AcknowledgeWithin, Level
from tests.fixtures.escalation import (
    BODØ,
    FOLLOW_UP_TEAM,
    HOME_NURSING,
    LEGEVAKT,
    LEGEVAKT_TABLE,
    OFFICE_HOURS,
    RECORDER,
    T0,
    enrolment,
    home_nursing_service,
    routes,
)

R, I = TargetRole.RESPONSIBLE, TargetRole.INFORMED
TEAM_R = Target(FOLLOW_UP_TEAM, TargetKind.FOLLOW_UP_TEAM, R)
TEAM_I = Target(FOLLOW_UP_TEAM, TargetKind.FOLLOW_UP_TEAM, I)
HOME = Target(HOME_NURSING, TargetKind.HOME_NURSING, R)
LV = Target(LEGEVAKT, TargetKind.LEGEVAKT, R)
SATURDAY = datetime(2026, 11, 7, 11, 0, tzinfo=UTC)  # 12:00 in Oslo
WEDNESDAY_EVENING = datetime(2026, 11, 4, 17, 0, tzinfo=UTC)  # 18:00 in Oslo


def oslo(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in Oslo as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=NORWAY).astimezone(UTC)


def test_within_its_hours_the_follow_up_team_is_primary_for_review_and_urgent_review() -> None:
    chains = routes(T0)
    assert chains.chain(Level.REVIEW).first == (TEAM_R,)
    assert chains.chain(Level.REVIEW).on_timeout == ()
    assert chains.chain(Level.URGENT_REVIEW).first == (TEAM_R,)
    assert chains.chain(Level.URGENT_REVIEW).on_timeout == (LV,)


def test_the_follow_up_team_is_informed_for_urgent_and_emergency() -> None:
    chains = routes(T0)
    assert chains.chain(Level.URGENT).first == (HOME, LV, TEAM_I)
    assert chains.chain(Level.EMERGENCY).first == (LV, HOME, TEAM_I)
    assert chains.chain(Level.URGENT).on_timeout == chains.chain(Level.EMERGENCY).on_timeout == ()


@pytest.mark.parametrize("now", [SATURDAY, WEDNESDAY_EVENING], ids=["weekend", "evening"])
def test_outside_its_hours_home_nursing_is_primary(now: datetime) -> None:
    chains = routes(now)
    assert chains.chain(Level.REVIEW).first == (HOME,)
    assert chains.chain(Level.URGENT_REVIEW).first == (HOME,)
    assert chains.chain(Level.URGENT_REVIEW).on_timeout == (LV,)
    assert chains.chain(Level.URGENT).first == (HOME, LV, TEAM_I)  # still told, for information


def test_without_follow_up_or_home_nursing_the_legevakt_is_primary_and_not_added_twice() -> None:
    chains = routes(T0, follow_up=False, home_nursing=False)
    assert chains.chain(Level.REVIEW).first == (LV,)
    assert chains.chain(Level.URGENT_REVIEW).first == (LV,)
    assert chains.chain(Level.URGENT_REVIEW).on_timeout == ()
    assert chains.chain(Level.URGENT).first == (LV,)
    assert chains.chain(Level.EMERGENCY).first == (LV,)


def test_nobody_found_is_undeliverable_at_every_level() -> None:
    chains = routes(T0, follow_up=False, home_nursing=False, legevakt=False)
    for level in Level:
        assert chains.chain(level).first == () and chains.chain(level).undeliverable


def test_a_follow_up_team_alone_is_responsible_for_urgent_only_while_open() -> None:
    open_now = routes(T0, home_nursing=False, legevakt=False)
    assert open_now.chain(Level.URGENT).first == (TEAM_R,)
    assert not open_now.chain(Level.EMERGENCY).undeliverable
    closed = routes(SATURDAY, home_nursing=False, legevakt=False)
    assert closed.chain(Level.EMERGENCY).first == (TEAM_I,)
    assert closed.chain(Level.EMERGENCY).undeliverable  # told, but nobody responsible
    assert closed.chain(Level.REVIEW).undeliverable


def test_the_recorders_own_organisation_is_never_a_target() -> None:
    for recorder, left_out in ((HOME_NURSING, HOME), (LEGEVAKT, LV), (FOLLOW_UP_TEAM, TEAM_I)):
        chains = routes(T0, recorder=recorder)
        for level in Level:
            chain = chains.chain(level)
            assert all(t.orgnr != recorder for t in (*chain.first, *chain.on_timeout)), (recorder, level)
            assert left_out not in chain.first
    # Home nursing recording at the kitchen table: the follow-up team (open), then the legevakt.
    chains = routes(SATURDAY, recorder=HOME_NURSING)
    assert chains.chain(Level.REVIEW).first == (LV,)
    assert chains.chain(Level.URGENT).first == (LV, TEAM_I)


def test_home_nursing_is_the_most_recently_started_active_iplos_15_service() -> None:
    other = "910000063"
    services = (
        home_nursing_service(HOME_NURSING, start=date(2025, 6, 2), service_id="a"),
        home_nursing_service(other, start=date(2026, 2, 1), service_id="b", on_hold=True),  # on hold: skipped
        home_nursing_service(other, start=date(2026, 3, 1), service_id="c", iplos="6"),  # not home nursing
        home_nursing_service(other, start=date(2026, 4, 1), service_id="d", end=date(2026, 10, 31)),  # ended
        home_nursing_service(other, start=date(2026, 12, 1), service_id="e"),  # not started yet
    )
    chosen = route(ResponsibilityFacts(RECORDER, BODØ, services=services), T0).chain(Level.REVIEW).first
    assert chosen == (HOME,)
    newer = (*services, home_nursing_service(other, start=date(2026, 5, 1), service_id="f"))
    chosen = route(ResponsibilityFacts(RECORDER, BODØ, services=newer), T0).chain(Level.REVIEW).first
    assert chosen == (Target(other, TargetKind.HOME_NURSING, R),)


def test_an_enrolment_counts_only_while_active() -> None:
    ended = FollowUpEnrolment(FOLLOW_UP_TEAM, OFFICE_HOURS, T0 - timedelta(days=30), T0)
    future = FollowUpEnrolment(FOLLOW_UP_TEAM, OFFICE_HOURS, T0 + timedelta(seconds=1))
    for enrolment_ in (ended, future):
        chains = route(
            ResponsibilityFacts(RECORDER, BODØ, enrolments=(enrolment_,), legevakt_by_municipality=LEGEVAKT_TABLE), T0
        )
        assert chains.chain(Level.REVIEW).first == (LV,)
        assert chains.chain(Level.URGENT).first == (LV,)


def test_the_legevakt_is_the_one_serving_the_patients_municipality() -> None:
    elsewhere = ResponsibilityFacts(RECORDER, "3201", legevakt_by_municipality=LEGEVAKT_TABLE)
    assert route(elsewhere, T0).chain(Level.URGENT).undeliverable


def test_every_chain_is_bounded_and_names_an_organisation_once() -> None:
    for now in (T0, SATURDAY):
        for level in Level:
            chain = routes(now).chain(level)
            orgs = [t.orgnr for t in (*chain.first, *chain.on_timeout)]
            assert len(orgs) == len(set(orgs)) <= 3


# --- opening hours, Europe/Oslo ------------------------------------------------------------------


def test_office_hours_are_open_on_weekdays_in_oslo_time() -> None:
    assert OFFICE_HOURS.is_open(oslo(2026, 11, 4, 8, 0))
    assert OFFICE_HOURS.is_open(oslo(2026, 11, 4, 15, 29))
    assert not OFFICE_HOURS.is_open(oslo(2026, 11, 4, 15, 30))
    assert not OFFICE_HOURS.is_open(oslo(2026, 11, 4, 7, 59))
    assert not OFFICE_HOURS.is_open(oslo(2026, 11, 7, 12, 0))  # Saturday
    assert not OFFICE_HOURS.is_open(oslo(2026, 11, 8, 12, 0))  # Sunday
    # 07:30 UTC is 09:30 in Oslo in summer (CEST) but 08:30 in winter (CET): open either way;
    # 06:30 UTC is 08:30 in summer (open) but 07:30 in winter (closed).
    assert OFFICE_HOURS.is_open(datetime(2026, 6, 3, 6, 30, tzinfo=UTC))
    assert not OFFICE_HOURS.is_open(datetime(2026, 12, 2, 6, 30, tzinfo=UTC))


def test_a_closed_day_is_closed() -> None:
    hours = OpeningHours.weekdays(time(8), time(15, 30), closed_days=[date(2026, 12, 25)])
    assert not hours.is_open(oslo(2026, 12, 25, 10, 0))
    assert hours.is_open(oslo(2026, 12, 24, 10, 0))


def test_review_counts_four_hours_of_the_teams_opening_hours_over_a_weekend() -> None:
    # Friday 14:00 in Oslo: 1.5 h on Friday, then 2.5 h from Monday 08:00.
    friday = oslo(2026, 11, 6, 14, 0)
    chain = routes(friday).chain(Level.REVIEW)
    assert chain.first == (TEAM_R,)
    assert chain.deadline(friday, AcknowledgeWithin()) == oslo(2026, 11, 9, 10, 30)
    # URGENT_REVIEW's 30 min count every hour.
    assert routes(friday).chain(Level.URGENT_REVIEW).deadline(friday, AcknowledgeWithin()) == friday + timedelta(
        minutes=30
    )


def test_review_over_the_spring_forward_weekend() -> None:
    # Last Sunday of March 2026 is the 29th: Friday 27th 14:00 CET (13:00 UTC) + 1.5 h, then
    # Monday 30th from 08:00 CEST (06:00 UTC) + 2.5 h = 10:30 CEST, 08:30 UTC.
    friday = oslo(2026, 3, 27, 14, 0)
    assert friday == datetime(2026, 3, 27, 13, 0, tzinfo=UTC)
    deadline = routes(friday).chain(Level.REVIEW).deadline(friday, AcknowledgeWithin())
    assert deadline == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)


def test_review_over_the_fall_back_weekend() -> None:
    # Last Sunday of October 2026 is the 25th: Friday 23rd 14:00 CEST (12:00 UTC), then Monday
    # 26th 08:00 CET (07:00 UTC) + 2.5 h = 10:30 CET, 09:30 UTC.
    friday = oslo(2026, 10, 23, 14, 0)
    assert friday == datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    deadline = routes(friday).chain(Level.REVIEW).deadline(friday, AcknowledgeWithin())
    assert deadline == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)


def test_open_time_counts_real_hours_on_the_daylight_saving_nights() -> None:
    start_spring = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 CET on Sunday 29 March
    # 4 real hours: 00:30 CET -> 05:30 CEST (the clock skips 02:00-03:00).
    assert ALWAYS_OPEN.open_time_after(start_spring, timedelta(hours=4)) == start_spring + timedelta(hours=4)
    nights = OpeningHours(tuple(OpeningInterval(day, 0, 6 * 60) for day in range(7)))  # 00:00-06:00 daily
    # The spring night is open 5 real hours (00:00 CET to 06:00 CEST), the autumn night 7.
    spring_midnight = oslo(2026, 3, 29, 0, 0)
    assert nights.open_time_after(spring_midnight, timedelta(hours=5)) == oslo(2026, 3, 29, 6, 0)
    assert nights.open_time_after(spring_midnight, timedelta(hours=6)) == oslo(2026, 3, 30, 1, 0)
    autumn_midnight = oslo(2026, 10, 25, 0, 0)
    assert nights.open_time_after(autumn_midnight, timedelta(hours=7)) == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)
    assert nights.open_time_after(autumn_midnight, timedelta(hours=7)) == oslo(2026, 10, 25, 6, 0)
    # A team open at night is open at 02:30 on the autumn night (both times) and shut at 06:00.
    assert nights.is_open(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30 CEST
    assert nights.is_open(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 02:30 CET
    assert not nights.is_open(oslo(2026, 10, 25, 6, 0))


def test_the_follow_up_team_is_primary_in_the_spring_forward_hour_only_when_open() -> None:
    nights = OpeningHours(tuple(OpeningInterval(day, 0, 6 * 60) for day in range(7)))
    f = ResponsibilityFacts(RECORDER, BODØ, enrolments=(enrolment(nights),), services=(home_nursing_service(),))
    # 01:30 UTC on 29 March is 03:30 CEST: open.
    assert route(f, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)).chain(Level.REVIEW).first == (TEAM_R,)
    # 04:30 UTC is 06:30 CEST: closed, home nursing is primary.
    assert route(f, datetime(2026, 3, 29, 4, 30, tzinfo=UTC)).chain(Level.REVIEW).first == (HOME,)


@pytest.mark.parametrize(
    "build",
    [
        lambda: OpeningInterval(7, 0, 60),
        lambda: OpeningInterval(0, 60, 60),
        lambda: OpeningInterval(0, 0, 1441),
        lambda: OpeningHours(()),
        lambda: OpeningHours(tuple(OpeningInterval(0, i, i + 1) for i in range(29))),
    ],
)
def test_opening_hours_are_validated_and_bounded(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        build()


def test_hours_that_never_open_give_no_deadline() -> None:
    hours = OpeningHours(
        (OpeningInterval(0, 0, 60),), closed_days=frozenset(date(2026, 11, 2) + timedelta(weeks=w) for w in range(60))
    )
    with pytest.raises(ValueError, match="too little open time"):
        hours.open_time_after(T0, timedelta(hours=2))


@pytest.mark.parametrize(
    ("now", "kwargs", "passed_on"),
    [
        (T0, {}, (HOME, LV)),  # the follow-up team primary in its hours
        (SATURDAY, {}, (LV,)),  # home nursing primary
        (T0, {"home_nursing": False}, (LV,)),
        (T0, {"follow_up": False, "home_nursing": False}, ()),  # the legevakt primary: nobody after it
    ],
    ids=["team", "home-nursing", "team-no-home-nursing", "legevakt"],
)
def test_a_review_declined_passes_on_in_the_order_of_responsibility(
    now: datetime, kwargs: dict[str, bool], passed_on: tuple[Target, ...]
) -> None:
    review = routes(now, **kwargs).chain(Level.REVIEW)
    assert review.on_timeout == ()  # a timeout only leaves it overdue
    assert review.on_decline == passed_on
    assert all(
        t.orgnr != HOME_NURSING for t in routes(now, recorder=HOME_NURSING, **kwargs).chain(Level.REVIEW).on_decline
    )
