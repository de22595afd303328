"""The escalation inbox store on SQLite and PostgreSQL (docs/escalation.md, "API"): migration 0006
gives every existing episode one change, by opening time, and the head its count; every saved
transition takes the next position, in place of the episode's previous one, and a repeat takes
none."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import inspect, select

from services.platform.db import alembic_config, make_engine, make_sessions
from services.summary.escalation_inbox_store import EscalationInboxStore
from services.summary.escalation_rules import AcknowledgeWithin, evaluate
from services.summary.escalation_store import EscalationStore
from services.summary.main import BACKEND
from services.summary.models import EscalationChangeRow
from tests.fixtures import people
from tests.fixtures.escalation import PATIENT_BORN, RECORDER, T0, actor, measurement, routes
from tests.fixtures.escalation_api import LEGEVAKT
from tests.support import settings_for

CHANGE_TABLES = {"escalation_sequence", "escalation_changes"}


def positions(engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return [
            (p, e)
            for p, e in connection.execute(
                select(EscalationChangeRow.position, EscalationChangeRow.episode_id).order_by(
                    EscalationChangeRow.position
                )
            )
        ]


def test_changes_take_the_next_position_and_the_migration_numbers_existing_episodes(tmp_path, db_url):
    settings = settings_for(tmp_path, summary=db_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    engine = make_engine(db_url)
    try:
        sessions = make_sessions(engine)
        store, inbox = EscalationStore(sessions, AcknowledgeWithin()), EscalationInboxStore(sessions)
        assert inbox.head() == 0
        opened = []
        for n, patient in enumerate((people.TOR, people.ESKIL)):
            at = T0 + timedelta(minutes=n)
            m = measurement(at, 7, mid=f"m-{n}")
            opened.append(
                store.record_measurement(
                    patient,
                    measurement_id=m.measurement_id,
                    measured_at=at,
                    evaluation=evaluate(m, PATIENT_BORN, ()),
                    source_orgnr=RECORDER,
                    routes=routes(at),
                    now=at,
                ).episode
            )
        tor, eskil = (e.episode_id for e in opened if e is not None)
        store.acknowledge(tor, actor=actor(LEGEVAKT), request_id="a-1", now=T0 + timedelta(minutes=2))
        store.acknowledge(tor, actor=actor(LEGEVAKT), request_id="a-1", now=T0 + timedelta(minutes=3))  # a repeat
        assert positions(engine) == [(2, eskil), (3, tor)]  # each episode's last change
        assert inbox.head() == 3

        config = alembic_config(db_url, BACKEND.migrations)
        command.downgrade(config, "0005")
        assert not CHANGE_TABLES & set(inspect(engine).get_table_names())
        command.upgrade(config, "0006")
        assert positions(engine) == [(1, tor), (2, eskil)]  # one change per episode, by opening
        assert inbox.head() == 2
    finally:
        engine.dispose()
