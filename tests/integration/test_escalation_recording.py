"""RecordVitalSigns escalates (docs/escalation.md, "Recording a measurement"): through the real
summary gRPC server on SQLite and PostgreSQL, with a fixed clock, a measurement is stored, evaluated
against the patient's others, routed from the seeded facts and applied to the patient's episode.
A score of 7 opens an EMERGENCY to the legevakt and home nursing (the recorder's organisation left
out); a retry changes nothing; an older measurement arriving late opens nothing; an under-16 is
never escalated; an escalation step that fails keeps the measurement, answers UNAVAILABLE
ESCALATION_NOT_APPLIED, and the source's retry applies it once. The server's sweeper fires a due
timer; two replicas on PostgreSQL, sent the same measurements at once and sweeping together, make
every transition exactly once."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import func, select, text, update

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2, escalation_pb2_grpc, summary_pb2, summary_pb2_grpc
from services.platform.db import make_engine, make_sessions
from services.summary.escalation_episodes import EventKind, RecorderMessage, State, TimerKind
from services.summary.escalation_routing import TargetKind, TargetRole
from services.summary.escalation_rules import AcknowledgeWithin, Level
from services.summary.escalation_store import EscalationStore
from services.summary.main import BACKEND, make_api
from services.summary.models import PatientRow, VitalSignsRow
from tests.fixtures import people
from tests.fixtures.escalation import HOME_NURSING, LEGEVAKT, actor, vital_signs_input
from tests.support import DEMO_EHR_ACTOR, asserted, backend_replicas, expect_error, running_backend, settings_for

S = summary_pb2
P = "/samhandling.summary.v1.PatientSummaryService/"
ESCALATIONS = "/samhandling.summary.v1.EscalationService/"
NOW = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Oslo
HOSPITAL = common_pb2.Actor(
    kind=common_pb2.ACTOR_KIND_SYSTEM,
    client_id="demo-hospital",
    orgnr_parent="910000071",
    orgnr_child="910000098",  # Nordlandssykehuset Bodø – akuttmottak
)


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, summary=db_url)


@pytest.fixture
async def stub(settings) -> AsyncIterator[summary_pb2_grpc.PatientSummaryServiceStub]:
    spec = replace(BACKEND, make_api=lambda store, s: make_api(store, s, clock=lambda: NOW))
    async with running_backend("summary", settings, spec=spec) as channel:
        yield summary_pb2_grpc.PatientSummaryServiceStub(channel)


@pytest.fixture
def episodes(settings) -> Iterator[EscalationStore]:
    """The same database's episodes, read as the core's values."""
    engine = make_engine(settings.database_url("summary"))
    yield EscalationStore(make_sessions(engine), AcknowledgeWithin())
    engine.dispose()


async def record(stub, settings, patient_id: str, record_id: str, signs: S.VitalSigns, actor=DEMO_EHR_ACTOR):
    return await stub.RecordVitalSigns(
        S.RecordVitalSignsRequest(patient_id=patient_id, source_record_id=record_id, vital_signs=signs),
        metadata=asserted(
            settings,
            "summary",
            P + "RecordVitalSigns",
            actor=actor,
            patient_id=patient_id,
            data_categories=(common_pb2.DATA_CATEGORY_VITAL_SIGNS,),
        ),
    )


def snapshot(episodes: EscalationStore, episode_id: str) -> tuple[object, ...]:
    return (
        episodes.get(episode_id),
        episodes.deliveries(episode_id),
        episodes.recorder_messages(episode_id),
        episodes.timers(episode_id),
    )


async def test_a_7_recorded_by_home_nursing_opens_an_emergency_to_the_legevakt_and_a_retry_changes_nothing(
    stub, settings, episodes
):
    answer = await record(stub, settings, people.ESKIL, "esc-1", vital_signs_input(NOW - timedelta(minutes=10), 7))
    assert answer.created and answer.news2.total == 7
    episode = episodes.open_episode(people.ESKIL)
    assert episode is not None
    assert (episode.level, episode.state, episode.source_orgnr) == (Level.EMERGENCY, State.OPEN, HOME_NURSING)
    # The answer names the episode and carries Chart 4's response and what the recorder is told.
    assert (answer.escalation_id, answer.escalation_level, answer.no_escalation_reason) == (
        episode.episode_id,
        S.ESCALATION_LEVEL_EMERGENCY,
        S.NO_ESCALATION_REASON_UNSPECIFIED,
    )
    assert answer.clinical_response.text_en.startswith("NEWS2 7 or more: emergency. Phone 113 now.")
    assert answer.clinical_response.text_nb.startswith("NEWS2 7 eller mer: akutt. Ring 113 nå.")
    assert [(n.kind, list(n.phone_numbers), n.notice_time.ToDatetime(UTC)) for n in answer.recorder_notices] == [
        (S.RECORDER_NOTICE_KIND_PHONE_113, ["113"], NOW)
    ]
    assert answer.recorder_notices[0].text.text_en.startswith("Phone 113 now.")
    assert [m.measurement_id for m in episode.measurements] == [answer.measurement_id]
    # EMERGENCY goes to the legevakt and home nursing; the recorder is home nursing: left out.
    assert [(t.orgnr, t.target.kind, t.target.role) for t in episode.targets] == [
        (LEGEVAKT, TargetKind.LEGEVAKT, TargetRole.RESPONSIBLE)
    ]
    assert episode.deadline == NOW + timedelta(minutes=5)
    assert [(t.kind, t.due_at) for t in episodes.timers(episode.episode_id)] == [
        (TimerKind.ACKNOWLEDGE, NOW + timedelta(minutes=5))
    ]
    assert [(d.notify.orgnr, d.notify.level, d.notify.push) for d in episodes.deliveries(episode.episode_id)] == [
        (LEGEVAKT, Level.EMERGENCY, True)
    ]
    told = episodes.recorder_messages(episode.episode_id)
    assert [(n.tell.orgnr, n.tell.message, n.tell.phone_numbers) for n in told] == [
        (HOME_NURSING, RecorderMessage.PHONE_113, ("113",))
    ]

    before = snapshot(episodes, episode.episode_id)
    retry = await record(stub, settings, people.ESKIL, "esc-1", vital_signs_input(NOW - timedelta(minutes=10), 7))
    assert (retry.created, retry.measurement_id) == (False, answer.measurement_id)
    assert (retry.escalation_id, retry.escalation_level) == (answer.escalation_id, answer.escalation_level)
    assert list(retry.recorder_notices) == []  # this call told nothing new
    assert snapshot(episodes, episode.episode_id) == before


async def test_recorded_by_the_hospital_both_the_legevakt_and_home_nursing_are_told(stub, settings, episodes):
    await record(stub, settings, people.TOR, "esc-h", vital_signs_input(NOW - timedelta(minutes=3), 8), HOSPITAL)
    episode = episodes.open_episode(people.TOR)
    assert episode is not None and episode.level is Level.EMERGENCY
    assert [(t.orgnr, t.target.kind) for t in episode.targets] == [
        (LEGEVAKT, TargetKind.LEGEVAKT),
        (HOME_NURSING, TargetKind.HOME_NURSING),
    ]
    assert {d.notify.orgnr for d in episodes.deliveries(episode.episode_id)} == {LEGEVAKT, HOME_NURSING}
    assert [n.tell.orgnr for n in episodes.recorder_messages(episode.episode_id)] == ["910000098"]


async def test_an_older_measurement_arriving_late_opens_nothing(stub, settings, episodes):
    await record(stub, settings, people.INGRID, "late-0", vital_signs_input(NOW - timedelta(minutes=5), 0))
    late = await record(stub, settings, people.INGRID, "late-7", vital_signs_input(NOW - timedelta(minutes=30), 7))
    assert late.created and late.news2.total == 7  # stored and scored
    assert episodes.open_episode(people.INGRID) is None
    assert (late.escalation_id, late.escalation_level, late.no_escalation_reason) == (
        "",
        S.ESCALATION_LEVEL_UNSPECIFIED,
        S.NO_ESCALATION_REASON_LATE,
    )
    assert late.clinical_response.text_en.splitlines() == [
        late.clinical_response.text_en.splitlines()[0],
        "A newer measurement of the patient already exists; this older one is stored but alerts nobody.",
    ]
    assert list(late.recorder_notices) == []
    # A newer one at 7 does open one.
    await record(stub, settings, people.INGRID, "late-7b", vital_signs_input(NOW - timedelta(minutes=1), 7))
    assert episodes.open_episode(people.INGRID) is not None


async def test_an_under_16_is_never_escalated_automatically(stub, settings, episodes):
    answer = await record(stub, settings, people.FRIDA, "child-7", vital_signs_input(NOW - timedelta(minutes=2), 7))
    assert answer.created and not answer.news2.scored
    assert episodes.open_episode(people.FRIDA) is None
    assert (answer.escalation_id, answer.no_escalation_reason) == ("", S.NO_ESCALATION_REASON_NOT_SCORED_UNDER_16)
    assert answer.clinical_response.text_en.startswith("NEWS2 is not validated for children under 16")


async def test_a_failed_escalation_keeps_the_measurement_and_the_retry_applies_it_once(
    stub, settings, episodes, caplog
):
    engine = make_engine(settings.database_url("summary"))
    try:
        with engine.begin() as connection:  # the escalation's table is away: its step fails
            connection.execute(text("ALTER TABLE escalation_timers RENAME TO escalation_timers_away"))
        signs = vital_signs_input(NOW - timedelta(minutes=4), 6)
        with caplog.at_level(logging.ERROR, logger="services.summary.use_cases"):
            await expect_error(
                record(stub, settings, people.TOR, "fail-1", signs),
                grpc.StatusCode.UNAVAILABLE,
                "ESCALATION_NOT_APPLIED",
            )
        # Logged, by the error's type and SQLSTATE only: no patient, no values, no SQL.
        (logged,) = [r.getMessage() for r in caplog.records if r.name == "services.summary.use_cases"]
        assert re.fullmatch(
            r"the escalation of a stored measurement failed \((OperationalError|ProgrammingError), "
            r"SQLSTATE (-|[0-9A-Z]{5})\): answered ESCALATION_NOT_APPLIED",
            logged,
        )
        with engine.connect() as connection:
            stored = connection.scalar(
                select(func.count()).select_from(VitalSignsRow).where(VitalSignsRow.source_record_id == "fail-1")
            )
        assert stored == 1  # the measurement was not lost
        assert episodes.open_episode(people.TOR) is None  # and the failed step left nothing
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE escalation_timers_away RENAME TO escalation_timers"))
    finally:
        engine.dispose()

    retry = await record(stub, settings, people.TOR, "fail-1", signs)
    assert not retry.created
    episode = episodes.open_episode(people.TOR)
    assert episode is not None and episode.level is Level.URGENT
    assert (retry.escalation_id, retry.escalation_level) == (episode.episode_id, S.ESCALATION_LEVEL_URGENT)
    assert [n.kind for n in retry.recorder_notices] == [S.RECORDER_NOTICE_KIND_SENT]  # told by the call that applied it
    assert [m.measurement_id for m in episode.measurements] == [retry.measurement_id]
    assert [e.kind for e in episode.events] == [EventKind.OPENED]
    before = snapshot(episodes, episode.episode_id)
    await record(stub, settings, people.TOR, "fail-1", signs)
    assert snapshot(episodes, episode.episode_id) == before


async def test_the_servers_sweeper_fires_a_due_timer_once_and_stops_with_the_server(tmp_path, db_url):
    """The sweeper runs beside the calls on the api's clock: moved past the deadline, the timer
    fires (polled, bounded); on stop its thread ends before the database is let go."""
    settings = replace(settings_for(tmp_path, summary=db_url), escalation_sweep_interval_seconds=0.05)
    now = [NOW]
    spec = replace(BACKEND, make_api=lambda store, s: make_api(store, s, clock=lambda: now[0]))
    engine = make_engine(db_url)
    episodes = EscalationStore(make_sessions(engine), AcknowledgeWithin())
    try:
        async with running_backend("summary", settings, spec=spec) as channel:
            stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
            await record(stub, settings, people.ESKIL, "sweep-1", vital_signs_input(NOW - timedelta(minutes=1), 7))
            episode = episodes.open_episode(people.ESKIL)
            assert episode is not None and [e.kind for e in episode.events] == [EventKind.OPENED]
            assert sweeper_threads() == 1
            now[0] = NOW + timedelta(minutes=6)  # past the EMERGENCY deadline (5 min)
            deadline = time.monotonic() + 20
            while not any(e.kind is EventKind.TIMEOUT for e in episodes.get(episode.episode_id).events):
                assert time.monotonic() < deadline, "the server's sweeper did not fire the due timer"
                await asyncio.sleep(0.05)
        assert sweeper_threads() == 0  # stopped with the server
        fired = episodes.get(episode.episode_id)
        assert [e.kind for e in fired.events].count(EventKind.TIMEOUT) == 1
        # EMERGENCY's chain had nobody left to add: the recorder is told again to phone 113.
        assert [n.tell.message for n in episodes.recorder_messages(episode.episode_id)] == [
            RecorderMessage.PHONE_113,
            RecorderMessage.PHONE_113,
        ]
        assert fired.chain_exhausted and episodes.timers(episode.episode_id) == []
    finally:
        engine.dispose()


def sweeper_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "escalation-sweeper" and t.is_alive())


ADULTS = (
    people.ESKIL,
    people.RAGNHILD,
    people.TOR,
    people.INGRID,
    people.ODD,
    people.GUNNAR,
    people.LIV,
    people.MIKKEL,
    people.ASTRID,
)


@pytest.mark.postgres
async def test_two_replicas_sent_the_same_measurements_and_sweeping_together_make_each_transition_once(
    tmp_path, postgres_url
):
    settings = replace(settings_for(tmp_path, summary=postgres_url), escalation_sweep_interval_seconds=0.05)
    now = [NOW]
    spec = replace(BACKEND, make_api=lambda store, s: make_api(store, s, clock=lambda: now[0]))
    engine = make_engine(postgres_url)
    episodes = EscalationStore(make_sessions(engine), AcknowledgeWithin())
    try:
        async with backend_replicas(spec, settings) as replicas:
            stubs = [summary_pb2_grpc.PatientSummaryServiceStub(r.channel) for r in replicas]
            at = NOW - timedelta(minutes=2)
            # Every adult's measurement of 7 sent to both replicas at once (a source's retry racing
            # its first attempt): one stores it, both apply it, one episode opens.
            answers = await asyncio.gather(
                *(
                    record(stub, settings, pid, f"twice-{pid}", vital_signs_input(at, 7), HOSPITAL)
                    for pid in ADULTS
                    for stub in stubs
                )
            )
            opened = {}
            for pid, (first, second) in zip(ADULTS, zip(answers[::2], answers[1::2], strict=True), strict=True):
                assert sorted([first.created, second.created]) == [False, True], pid
                assert first.measurement_id == second.measurement_id and first.escalation_id == second.escalation_id
                episode = episodes.get(first.escalation_id)
                assert [e.kind for e in episode.events] == [EventKind.OPENED], pid
                deliveries = episodes.deliveries(episode.episode_id)
                assert sorted(d.notify.orgnr for d in deliveries) == sorted(t.orgnr for t in episode.targets), pid
                assert len(episodes.recorder_messages(episode.episode_id)) == 1, pid
                opened[pid] = episode.episode_id

            # Past every deadline (Gunnar's SpO2 scale 2 scores the same values as URGENT: 15 min).
            now[0] = NOW + timedelta(minutes=16)
            deadline = time.monotonic() + 30
            while any(episodes.timers(e) for e in opened.values()):
                assert time.monotonic() < deadline, "the replicas' sweepers did not fire every due timer"
                await asyncio.sleep(0.05)
        for pid, episode_id in opened.items():
            fired = episodes.get(episode_id)
            assert [e.kind for e in fired.events] == [EventKind.OPENED, EventKind.TIMEOUT, EventKind.CHAIN_EXHAUSTED], (
                pid
            )
            told = [n.tell.message for n in episodes.recorder_messages(episode_id)]
            if fired.level is Level.EMERGENCY:
                assert told == [RecorderMessage.PHONE_113, RecorderMessage.PHONE_113], pid
            else:
                assert (pid, fired.level, told) == (
                    people.GUNNAR,
                    Level.URGENT,
                    [RecorderMessage.SENT, RecorderMessage.PHONE_LEGEVAKT],
                )
    finally:
        engine.dispose()


async def test_an_emergency_nobody_is_responsible_for_goes_back_to_the_recorder_and_stays_listed_as_sent(
    settings, episodes
):
    """Mikkel has no home nursing and no follow-up; moved (in this test's database) to a
    municipality the legevakt table does not serve, nobody is responsible for him: a 7 answers
    UNDELIVERABLE with the phone numbers, and the episode stays open in the recorder's sent box
    (docs/escalation.md "Who is responsible"), never dropped."""
    spec = replace(BACKEND, make_api=lambda store, s: make_api(store, s, clock=lambda: NOW))
    async with running_backend("summary", settings, spec=spec) as channel:
        engine = make_engine(settings.database_url("summary"))  # migrated and seeded by now
        try:
            with engine.begin() as connection:  # Narvik: no row in the seeded legevakt table
                connection.execute(
                    update(PatientRow).where(PatientRow.pid == people.MIKKEL).values(municipality_number="1806")
                )
        finally:
            engine.dispose()
        stub = summary_pb2_grpc.PatientSummaryServiceStub(channel)
        answer = await record(
            stub, settings, people.MIKKEL, "nobody-1", vital_signs_input(NOW - timedelta(minutes=2), 7)
        )
        sent_box = await escalation_pb2_grpc.EscalationServiceStub(channel).ListEscalations(
            escalation_pb2.ListEscalationsRequest(box=escalation_pb2.ESCALATION_BOX_SENT),
            metadata=asserted(settings, "summary", ESCALATIONS + "ListEscalations"),
        )
    assert answer.created and answer.escalation_level == S.ESCALATION_LEVEL_EMERGENCY
    # An EMERGENCY's recorder is told to phone 113 first, then that nobody could be told.
    assert [(n.kind, list(n.phone_numbers)) for n in answer.recorder_notices] == [
        (S.RECORDER_NOTICE_KIND_PHONE_113, ["113"]),
        (S.RECORDER_NOTICE_KIND_UNDELIVERABLE, ["113", "116117"]),
    ]
    assert answer.recorder_notices[1].text.text_en.startswith("The alert cannot be delivered: nobody responsible")
    episode = episodes.open_episode(people.MIKKEL)
    assert episode is not None and episode.episode_id == answer.escalation_id
    assert (episode.state, episode.targets, episode.source_orgnr) == (State.OPEN, (), HOME_NURSING)
    assert episodes.deliveries(episode.episode_id) == [] and episodes.timers(episode.episode_id) == []
    assert [(i.escalation_id, i.role, i.state) for i in sent_box.escalations] == [
        (answer.escalation_id, escalation_pb2.ESCALATION_ROLE_SOURCE, escalation_pb2.ESCALATION_STATE_OPEN)
    ]


async def test_a_measurement_older_than_the_maximum_age_is_stored_and_scored_but_escalates_nothing(
    stub, settings, episodes
):
    # A sync after an outage: measured two days ago, recorded now (default maximum age 6 h).
    old = await record(stub, settings, people.INGRID, "old-8", vital_signs_input(NOW - timedelta(days=2), 8))
    assert old.created and old.news2.total == 8  # stored and scored
    assert episodes.open_episode(people.INGRID) is None
    assert (old.escalation_id, old.escalation_level, old.no_escalation_reason) == (
        "",
        S.ESCALATION_LEVEL_UNSPECIFIED,
        S.NO_ESCALATION_REASON_TOO_OLD,
    )
    assert old.clinical_response.text_en.splitlines()[1].startswith("The measurement was taken more than 6 h ago")
    assert list(old.recorder_notices) == []  # nobody is told to phone 113 for it


async def test_an_upgrade_measured_by_a_target_tells_it_to_phone_113_and_never_notifies_it(stub, settings, episodes):
    # The hospital records a 5 for Tor (URGENT to home nursing and the legevakt); home nursing then
    # measures 8 at the kitchen table: it is the one with the patient, so it is told to phone 113.
    await record(stub, settings, people.TOR, "up-5", vital_signs_input(NOW - timedelta(minutes=20), 5), HOSPITAL)
    upgraded = await record(stub, settings, people.TOR, "up-8", vital_signs_input(NOW - timedelta(minutes=1), 8))
    assert upgraded.escalation_level == S.ESCALATION_LEVEL_EMERGENCY
    assert [(n.kind, list(n.phone_numbers)) for n in upgraded.recorder_notices] == [
        (S.RECORDER_NOTICE_KIND_PHONE_113, ["113"])
    ]
    episode = episodes.open_episode(people.TOR)
    assert episode is not None and episode.source_orgnr == "910000098"
    deliveries = [(d.notify.orgnr, d.notify.reason.name) for d in episodes.deliveries(episode.episode_id)]
    assert (HOME_NURSING, "UPGRADED") not in deliveries and (LEGEVAKT, "UPGRADED") in deliveries
    told = [(n.tell.orgnr, n.tell.message) for n in episodes.recorder_messages(episode.episode_id)]
    assert told[-1] == (HOME_NURSING, RecorderMessage.PHONE_113)
    assert ("910000098", RecorderMessage.PHONE_113) not in told
    # Taken by the legevakt, then resolved by two normal scores the hospital records: the recorder
    # (home nursing) is told it is closed; the hospital's answer tells it nothing addressed to another.
    episodes.acknowledge(episode.episode_id, actor=actor(LEGEVAKT), request_id="up-a", now=NOW - timedelta(seconds=50))
    for n, ago in ((1, 40), (2, 30)):
        quiet = await record(
            stub, settings, people.TOR, f"up-0-{n}", vital_signs_input(NOW - timedelta(seconds=ago), 0), HOSPITAL
        )
    assert episodes.get(episode.episode_id).state is State.RESOLVED
    assert list(quiet.recorder_notices) == []
    told = [(n.tell.orgnr, n.tell.message) for n in episodes.recorder_messages(episode.episode_id)]
    assert told[-1] == (HOME_NURSING, RecorderMessage.RESOLVED)
