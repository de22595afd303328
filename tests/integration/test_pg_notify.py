"""The shared LISTEN/NOTIFY helper's pure parts: which URL the listener connects to, when a
write notifies, and how reconnections back off."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from services.platform import pg_notify
from services.platform.pg_notify import MAX_BACKOFF_SECONDS, MIN_BACKOFF_SECONDS, Backoff, listen_url
from services.platform.settings import Settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg://app:s3cret@db.example:5433/capacity",
            "postgresql://app:s3cret@db.example:5433/capacity",
        ),
        (
            "postgresql://app@localhost/consent?sslmode=require&application_name=x",
            "postgresql://app@localhost/consent?application_name=x&sslmode=require",
        ),
    ],
)
def test_a_postgresql_url_of_any_driver_becomes_a_libpq_url_with_its_password(url, expected):
    derived = listen_url(url)
    assert derived == expected
    # libpq reads it back to the same database.
    assert psycopg.conninfo.conninfo_to_dict(derived)["dbname"] == url.split("/")[-1].split("?")[0]


def test_the_password_survives_quoting():
    derived = listen_url("postgresql+psycopg://app:p%40ss%2Fword@localhost/db")
    assert psycopg.conninfo.conninfo_to_dict(derived)["password"] == "p@ss/word"


def test_other_databases_have_no_listener():
    assert listen_url("sqlite:////tmp/capacity.db") is None
    assert listen_url(create_engine("sqlite://").url) is None


def test_notify_does_nothing_on_sqlite():
    engine = create_engine("sqlite://")
    with sessionmaker(bind=engine).begin() as session:
        pg_notify.notify(session, "channel", "payload")
        assert session.scalar(text("SELECT 1")) == 1  # the transaction is intact
    engine.dispose()


def test_reconnections_back_off_doubling_to_a_bound_and_start_over_after_a_connection():
    backoff = Backoff()
    delays = [backoff.delay() for _ in range(12)]
    assert delays[0] == MIN_BACKOFF_SECONDS
    assert all(later == min(2 * earlier, MAX_BACKOFF_SECONDS) for earlier, later in itertools.pairwise(delays))
    assert delays[-1] == MAX_BACKOFF_SECONDS
    backoff.reset()
    assert backoff.delay() == MIN_BACKOFF_SECONDS


def test_a_backend_listens_on_its_own_listen_url_or_else_its_database_url():
    env = {
        "SAMHANDLING_CAPACITY_DATABASE_URL": "postgresql+psycopg://app@pgbouncer:6432/capacity",
        "SAMHANDLING_CAPACITY_SESSION_DATABASE_URL": "postgresql+psycopg://app@db:5432/capacity",
        "SAMHANDLING_CONSENT_DATABASE_URL": "postgresql+psycopg://app@db:5432/consent",
    }
    settings = Settings.from_env(env)
    assert settings.session_database_url("capacity") == "postgresql+psycopg://app@db:5432/capacity"
    assert settings.session_database_url("consent") == "postgresql+psycopg://app@db:5432/consent"
    assert listen_url(settings.session_database_url("summary")) is None  # SQLite: nobody listens
