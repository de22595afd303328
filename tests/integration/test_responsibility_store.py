"""Who is responsible, in the summary database (services/summary/responsibility_store.py) on SQLite
and PostgreSQL: the seeded legevakt table and follow-up enrolments, enrolling and ending, the bound
on active enrolments, and the routing facts of seeded patients read back as the core's values."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, text

from services.platform.db import alembic_config, make_engine, make_sessions
from services.summary import responsibility_store
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
from services.summary.responsibility import MAX_ACTIVE_ENROLMENTS, Enrolment, LegevaktEntry, hours_to_json
from services.summary.responsibility_store import (
    EndsBeforeStart,
    RequestIdReused,
    ResponsibilityStore,
    TooManyEnrolments,
    UnknownEnrolment,
)
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
        enrolled[0].enrolment_id,
        patient_id=people.ESKIL,
        team_orgnr=FOLLOW_UP,
        ended_at=now + timedelta(hours=1),
        ended_by_hpr="990000105",
    )
    assert (ended.enrolment.ended_at, ended.ended_by_hpr) == (now + timedelta(hours=1), "990000105")
    again = store.end_enrolment(
        enrolled[0].enrolment_id,
        patient_id=people.ESKIL,
        team_orgnr=FOLLOW_UP,
        ended_at=now + timedelta(hours=5),
        ended_by_hpr="990000101",
    )
    assert again == ended  # a repeat changes nothing
    later = now + timedelta(hours=2)
    assert len(store.enrolments(people.ESKIL, later)) == MAX_ACTIVE_ENROLMENTS - 1
    assert [e.team_orgnr for e in store.facts(people.ESKIL, recorder_orgnr=HOSPITAL, now=later).enrolments] == [
        FOLLOW_UP
    ] * (MAX_ACTIVE_ENROLMENTS - 1)
    store.enrol(people.ESKIL, FollowUpEnrolment(FOLLOW_UP, hours, later), enrolled_by_hpr="990000105", now=later)
    with pytest.raises(UnknownEnrolment):  # only the team's own organisation ends it
        store.end_enrolment(
            enrolled[1].enrolment_id,
            patient_id=people.ESKIL,
            team_orgnr=HOSPITAL,
            ended_at=later,
            ended_by_hpr="990000105",
        )
    with pytest.raises(UnknownEnrolment):  # nor for another patient than the enrolment's
        store.end_enrolment(
            enrolled[1].enrolment_id, patient_id=GUNNAR, team_orgnr=FOLLOW_UP, ended_at=later, ended_by_hpr="990000105"
        )
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


def test_a_request_id_enrols_once_and_is_refused_for_anything_else_within_the_organisation(store):
    hours = OpeningHours.weekdays(time(8), time(15, 30))
    now = WEDNESDAY_10_OSLO

    def enrol(
        patient: str = people.ESKIL,
        team: str = FOLLOW_UP,
        request_id: str = "r-1",
        team_name: str = "Hjemmeoppfølging",
        enrolled_by_name: str = "Marte Mottaksen",
        at: datetime = now,
    ) -> Enrolment:
        return store.enrol(
            patient,
            FollowUpEnrolment(team, hours, at),
            enrolled_by_hpr="990000105",
            now=at,
            team_name=team_name,
            enrolled_by_name=enrolled_by_name,
            request_id=request_id,
        )

    first = enrol()
    assert (first.team_name, first.enrolled_by_name, first.request_id) == (
        "Hjemmeoppfølging",
        "Marte Mottaksen",
        "r-1",
    )
    assert store.enrolment(first.enrolment_id) == first  # found by its id alone
    # The same request a minute later: the enrolment it made, not a second one.
    assert enrol(at=now + timedelta(minutes=1)) == first
    assert len(store.enrolments(people.ESKIL, now)) == 1
    for other in ({"team_name": "Annet team"}, {"patient": people.TOR}, {"enrolled_by_name": "Noen Andre"}):
        with pytest.raises(RequestIdReused):
            enrol(**other)
    assert enrol(team=HOSPITAL).enrolment_id != first.enrolment_id  # another organisation's own ids
    # Ending: the same request id again answers the same; used for anything else it is refused.
    ended = store.end_enrolment(
        first.enrolment_id,
        patient_id=people.ESKIL,
        team_orgnr=FOLLOW_UP,
        ended_at=now + timedelta(hours=1),
        ended_by_hpr="990000105",
        ended_by_name="Marte Mottaksen",
        request_id="r-2",
    )
    assert (ended.ended_by_name, ended.ended_request_id) == ("Marte Mottaksen", "r-2")
    assert (
        store.end_enrolment(
            first.enrolment_id,
            patient_id=people.ESKIL,
            team_orgnr=FOLLOW_UP,
            ended_at=now,
            ended_by_hpr="990000101",
            request_id="r-2",
        )
        == ended
    )
    assert store.enrolment(first.enrolment_id) == ended
    second = enrol(request_id="r-3")
    for used in ("r-1", "r-2"):  # the enrolling request; another enrolment's end
        with pytest.raises(RequestIdReused):
            store.end_enrolment(
                second.enrolment_id,
                patient_id=people.ESKIL,
                team_orgnr=FOLLOW_UP,
                ended_at=now,
                ended_by_hpr="990000105",
                request_id=used,
            )
    with pytest.raises(RequestIdReused):
        enrol(request_id="r-2")  # an end's id is not an enrolment's
    with pytest.raises(UnknownEnrolment):
        store.enrolment("fu-unknown")


def test_an_end_before_the_start_is_refused_not_moved(store):
    hours = OpeningHours.weekdays(time(8), time(15, 30))
    planned = store.enrol(
        people.ESKIL,
        FollowUpEnrolment(FOLLOW_UP, hours, WEDNESDAY_10_OSLO + timedelta(days=1)),
        enrolled_by_hpr="990000105",
        now=WEDNESDAY_10_OSLO,
    )
    with pytest.raises(EndsBeforeStart):
        store.end_enrolment(
            planned.enrolment_id,
            patient_id=people.ESKIL,
            team_orgnr=FOLLOW_UP,
            ended_at=WEDNESDAY_10_OSLO,
            ended_by_hpr="990000105",
        )
    assert store.enrolment(planned.enrolment_id) == planned  # nothing written


def test_seeded_enrolments_keep_their_names_and_have_no_request_id(store):
    (gunnar,) = store.enrolments(GUNNAR, WEDNESDAY_10_OSLO)
    assert (gunnar.enrolment_id, gunnar.team_name, gunnar.enrolled_by_name, gunnar.request_id) == (
        "fu-seed-0001",
        "Digital hjemmeoppfølging, Nordlandssykehuset Bodø",
        "Marte Mottaksen",
        None,
    )


def test_an_enrolment_stored_before_0007_keeps_working(tmp_path, db_url):
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0006")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO patients (pid, name, municipality_number) VALUES (:pid, 'Eskil', '1804')"),
                {"pid": people.ESKIL},
            )
            connection.execute(
                text(
                    "INSERT INTO follow_up_enrolments (enrolment_id, patient_id, team_orgnr, opening_hours, "
                    "started_at, enrolled_by_hpr) VALUES ('fu-old', :pid, :team, :hours, :at, '990000105')"
                ),
                {
                    "pid": people.ESKIL,
                    "team": FOLLOW_UP,
                    "hours": hours_to_json(OpeningHours.weekdays(time(8), time(16))),
                    "at": WEDNESDAY_10_OSLO,
                },
            )
        command.upgrade(config, "head")
        store = ResponsibilityStore(make_sessions(engine))
        old = store.enrolment("fu-old")
        assert (old.team_name, old.enrolled_by_name, old.request_id) == ("", "", None)
        assert old.enrolment.hours == OpeningHours.weekdays(time(8), time(16))
        later = WEDNESDAY_10_OSLO + timedelta(days=1)
        ended = store.end_enrolment(
            "fu-old",
            patient_id=people.ESKIL,
            team_orgnr=FOLLOW_UP,
            ended_at=later,
            ended_by_hpr="990000105",
            request_id="end-old",
        )
        assert (ended.enrolment.ended_at, ended.ended_request_id) == (later, "end-old")
    finally:
        engine.dispose()


def test_requests_racing_with_one_id_enrol_once(store):
    hours = OpeningHours.weekdays(time(8), time(15, 30))
    now = WEDNESDAY_10_OSLO

    def enrol(patient_and_id: tuple[str, str]) -> Enrolment | str:
        patient, request_id = patient_and_id
        try:
            return store.enrol(
                patient,
                FollowUpEnrolment(FOLLOW_UP, hours, now),
                enrolled_by_hpr="990000105",
                now=now,
                team_name="Hjemmeoppfølging",
                request_id=request_id,
            )
        except RequestIdReused:
            return "reused"

    # The same request four times at once: one enrolment, answered to all.
    with ThreadPoolExecutor(4) as pool:
        same = list(pool.map(enrol, [(people.ESKIL, "race-1")] * 4))
    assert len({a.enrolment_id for a in same if isinstance(a, Enrolment)}) == 1
    assert all(isinstance(a, Enrolment) for a in same)
    # One id for four patients at once: one enrolment, the others refused (the unique index decides).
    with ThreadPoolExecutor(4) as pool:
        racing = list(pool.map(enrol, [(p, "race-2") for p in (people.TOR, GUNNAR, INGRID, people.FRIDA)]))
    assert sorted(a if isinstance(a, str) else "enrolled" for a in racing) == ["enrolled", *["reused"] * 3]
    assert enrol((people.ESKIL, "race-1")) == same[0]


@pytest.mark.postgres
def test_two_replicas_racing_one_request_id_for_an_enrolment_and_an_end_make_one_change(
    tmp_path, postgres_url, monkeypatch
):
    """One replica enrols with a request id while another ends an enrolment with the same id, both
    having read that the id is new (the read is held until both have made it): the key of
    follow_up_requests decides, one change is made and the other is RequestIdReused."""
    settings = settings_for(tmp_path, summary=postgres_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    engines = [make_engine(postgres_url) for _ in range(2)]
    enrolling, ending = (ResponsibilityStore(make_sessions(e)) for e in engines)
    hours = OpeningHours.weekdays(time(8), time(15, 30))
    now = WEDNESDAY_10_OSLO
    try:
        first = enrolling.enrol(
            people.ESKIL,
            FollowUpEnrolment(FOLLOW_UP, hours, now),
            enrolled_by_hpr="990000105",
            now=now,
            request_id="e-1",
        )
        both_read = threading.Barrier(2, timeout=30)
        reads = itertools.count()
        real_by_request = responsibility_store._by_request

        def read_then_wait(*args):  # type: ignore[no-untyped-def]
            found = real_by_request(*args)
            if next(reads) < 2:  # each replica's first read of the id, before its write
                both_read.wait()
            return found

        monkeypatch.setattr(responsibility_store, "_by_request", read_then_wait)

        def enrol() -> Enrolment:
            return enrolling.enrol(
                people.TOR,
                FollowUpEnrolment(FOLLOW_UP, hours, now),
                enrolled_by_hpr="990000105",
                now=now,
                request_id="x-1",
            )

        def end() -> Enrolment:
            return ending.end_enrolment(
                first.enrolment_id,
                patient_id=people.ESKIL,
                team_orgnr=FOLLOW_UP,
                ended_at=now + timedelta(hours=1),
                ended_by_hpr="990000105",
                request_id="x-1",
            )

        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(enrol), pool.submit(end)]
            outcomes = [f.exception() or f.result() for f in futures]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(refused) == 1 and isinstance(refused[0], RequestIdReused), outcomes
        enrolled_tor = [e for e in enrolling.enrolments(people.TOR, now) if e.request_id == "x-1"]
        ended_eskil = enrolling.enrolment(first.enrolment_id).ended_request_id == "x-1"
        assert (len(enrolled_tor), ended_eskil) in ((1, False), (0, True))  # one change, never both
        with engines[0].connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM follow_up_requests WHERE request_id = 'x-1'")) == 1
    finally:
        for e in engines:
            e.dispose()


def test_0008_keeps_the_request_ids_stored_before_it_one_use_each(tmp_path, db_url):
    """Request ids stored in 0007's two columns are copied into follow_up_requests, enrolments'
    first: an end that reused an enrolment's id before 0008 (the race 0008 closes) keeps its column
    but not the key, so the id keeps naming the enrolment only."""
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0007")
    engine = make_engine(db_url)
    hours = hours_to_json(OpeningHours.weekdays(time(8), time(16)))
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO patients (pid, name, municipality_number) VALUES (:pid, 'Eskil', '1804')"),
                {"pid": people.ESKIL},
            )
            for enrolment_id, request_id, ended_request_id in (("fu-a", "r-a", "r-b"), ("fu-b", "r-b", None)):
                connection.execute(
                    text(
                        "INSERT INTO follow_up_enrolments (enrolment_id, patient_id, team_orgnr, opening_hours, "
                        "started_at, enrolled_by_hpr, request_id, ended_request_id) "
                        "VALUES (:id, :pid, :team, :hours, :at, '990000105', :request, :ended)"
                    ),
                    {
                        "id": enrolment_id,
                        "pid": people.ESKIL,
                        "team": FOLLOW_UP,
                        "hours": hours,
                        "at": WEDNESDAY_10_OSLO,
                        "request": request_id,
                        "ended": ended_request_id,
                    },
                )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT request_id, kind, enrolment_id FROM follow_up_requests ORDER BY request_id")
            ).all()
        assert [tuple(r) for r in kept] == [("r-a", "ENROL", "fu-a"), ("r-b", "ENROL", "fu-b")]
        store = ResponsibilityStore(make_sessions(engine))
        with pytest.raises(RequestIdReused):
            store.end_enrolment(
                "fu-a",
                patient_id=people.ESKIL,
                team_orgnr=FOLLOW_UP,
                ended_at=WEDNESDAY_10_OSLO,
                ended_by_hpr="990000105",
                request_id="r-b",
            )
        command.downgrade(config, "0007")
        assert "follow_up_requests" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
