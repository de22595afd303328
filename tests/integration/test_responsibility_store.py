"""Who is responsible, in the summary database (services/summary/responsibility_store.py) on SQLite
and PostgreSQL: the seeded legevakt table and follow-up enrolments, enrolling and ending, the bound
on active enrolments, and the routing facts of seeded patients read back as the core's values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from services.platform.db import make_engine, make_sessions
from services.summary.escalation_routing import (
    FollowUpEnrolment,
    Legevakt,
    OpeningHours,
    TargetKind,
    TargetRole,
    route,
)
from services.summary.escalation_rules import Level
from services.summary.main import BACKEND
from services.summary.responsibility import MAX_ACTIVE_ENROLMENTS, LegevaktEntry
from services.summary.responsibility_store import ResponsibilityStore, TooManyEnrolments, UnknownEnrolment
from services.summary.store import UnknownPatient
from tests.fixtures import people
from tests.fixtures.escalation import HOME_NURSING, LEGEVAKT
from tests.support import settings_for

FOLLOW_UP = "910000136"  # Nordlandssykehuset Bodø – digital hjemmeoppfølging (seeds/organisations.json)
HOSPITAL = "910000098"  # Nordlandssykehuset Bodø – akuttmottak
GUNNAR = people.GUNNAR  # enrolled by the follow-up team (seeds/follow_up_enrolments.json)
INGRID = "03834710055"  # enrolled once, ended
WEDNESDAY_10_OSLO = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
SATURDAY_10_OSLO = datetime(2026, 11, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path, db_url) -> Iterator[ResponsibilityStore]:
    settings = settings_for(tmp_path, summary=db_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    BACKEND.seed(settings)  # seeding again changes nothing
    engine = make_engine(db_url)
    yield ResponsibilityStore(make_sessions(engine))
    engine.dispose()


def test_the_seeded_legevakt_table_serves_several_municipalities(store):
    assert store.legevakts() == [
        LegevaktEntry(LEGEVAKT, "Bodø interkommunale legevakt", "116117", ("1804", "1838", "1839")),
        LegevaktEntry("910000063", "Bærum legevakt", "116117", ("3201",)),
    ]
    with pytest.raises(ValueError, match="1804"):
        store.replace_legevakts([*store.legevakts(), LegevaktEntry("910000136", "Twice", "116117", ("1804",))])
    assert len(store.legevakts()) == 2  # refused before anything was written


def test_facts_of_a_seeded_patient_route_to_home_nursing_and_the_legevakt(store):
    facts = store.facts(people.ESKIL, recorder_orgnr=HOSPITAL, now=WEDNESDAY_10_OSLO)
    assert facts.municipality_number == "1804" and facts.recorder_orgnr == HOSPITAL
    assert facts.legevakt_by_municipality == {"1804": Legevakt(LEGEVAKT, "Bodø interkommunale legevakt")}
    assert facts.enrolments == ()
    # His IPLOS 15 service (the ended and the on-hold services are other codes).
    assert [(s.iplos_code, s.provider_orgnr) for s in facts.services] == [("15", HOME_NURSING)]
    emergency = route(facts, WEDNESDAY_10_OSLO).chain(Level.EMERGENCY)
    assert [(t.orgnr, t.kind) for t in emergency.first] == [
        (LEGEVAKT, TargetKind.LEGEVAKT),
        (HOME_NURSING, TargetKind.HOME_NURSING),
    ]
    with pytest.raises(UnknownPatient):
        store.facts("22750884908", recorder_orgnr=HOSPITAL, now=WEDNESDAY_10_OSLO)


def test_a_seeded_enrolment_makes_the_follow_up_team_primary_within_its_hours(store):
    facts = store.facts(GUNNAR, recorder_orgnr=HOSPITAL, now=WEDNESDAY_10_OSLO)
    assert [(e.team_orgnr, e.ended_at) for e in facts.enrolments] == [(FOLLOW_UP, None)]
    assert facts.enrolments[0].hours == OpeningHours.weekdays(
        time(8), time(15, 30), closed_days=facts.enrolments[0].hours.closed_days
    )
    review = route(facts, WEDNESDAY_10_OSLO).chain(Level.URGENT_REVIEW)
    assert [(t.orgnr, t.role) for t in review.first] == [(FOLLOW_UP, TargetRole.RESPONSIBLE)]
    closed = route(store.facts(GUNNAR, recorder_orgnr=HOSPITAL, now=SATURDAY_10_OSLO), SATURDAY_10_OSLO)
    assert [t.orgnr for t in closed.chain(Level.URGENT_REVIEW).first] == [HOME_NURSING]
    # Ingrid's enrolment ended in 2025: not a fact any more.
    assert store.facts(INGRID, recorder_orgnr=HOSPITAL, now=WEDNESDAY_10_OSLO).enrolments == ()


def test_enrol_and_end_with_a_bound_on_active_enrolments(store):
    hours = OpeningHours.weekdays(time(7), time(22))
    now = WEDNESDAY_10_OSLO
    enrolled = [
        store.enrol(
            people.ESKIL,
            FollowUpEnrolment(FOLLOW_UP, hours, now + timedelta(minutes=i)),
            enrolled_by_hpr="990000105",
            now=now,
        )
        for i in range(MAX_ACTIVE_ENROLMENTS)
    ]
    assert [e.enrolment_id for e in store.enrolments(people.ESKIL, now)] == [e.enrolment_id for e in enrolled]
    assert store.enrolments(people.ESKIL, now)[0].enrolment.hours == hours  # read back as written
    with pytest.raises(TooManyEnrolments):
        store.enrol(people.ESKIL, FollowUpEnrolment(FOLLOW_UP, hours, now), enrolled_by_hpr="990000105", now=now)
    assert len(store.enrolments(people.ESKIL, now)) == MAX_ACTIVE_ENROLMENTS  # the refused one left nothing

    ended = store.end_enrolment(
        people.ESKIL, enrolled[0].enrolment_id, ended_at=now + timedelta(hours=1), ended_by_hpr="990000105"
    )
    assert (ended.enrolment.ended_at, ended.ended_by_hpr) == (now + timedelta(hours=1), "990000105")
    again = store.end_enrolment(
        people.ESKIL, enrolled[0].enrolment_id, ended_at=now + timedelta(hours=5), ended_by_hpr="990000101"
    )
    assert again == ended  # a repeat changes nothing
    later = now + timedelta(hours=2)
    assert len(store.enrolments(people.ESKIL, later)) == MAX_ACTIVE_ENROLMENTS - 1
    assert [e.team_orgnr for e in store.facts(people.ESKIL, recorder_orgnr=HOSPITAL, now=later).enrolments] == [
        FOLLOW_UP
    ] * (MAX_ACTIVE_ENROLMENTS - 1)
    store.enrol(people.ESKIL, FollowUpEnrolment(FOLLOW_UP, hours, later), enrolled_by_hpr="990000105", now=later)
    with pytest.raises(UnknownEnrolment):
        store.end_enrolment(GUNNAR, enrolled[1].enrolment_id, ended_at=later, ended_by_hpr="990000105")
    with pytest.raises(UnknownEnrolment):  # another patient's enrolment id is never rewritten
        store.enrol(
            GUNNAR,
            FollowUpEnrolment(FOLLOW_UP, hours, now),
            enrolled_by_hpr="990000105",
            now=now,
            enrolment_id=enrolled[1].enrolment_id,
        )
    assert store.enrolments(people.ESKIL, later)[0].enrolment_id == enrolled[1].enrolment_id
    with pytest.raises(UnknownPatient):
        store.enrol("22750884908", FollowUpEnrolment(FOLLOW_UP, hours, now), enrolled_by_hpr="990000105", now=now)
