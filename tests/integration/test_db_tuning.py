"""Database settings: read from the environment, refused when malformed, admin work unbounded."""

from __future__ import annotations

import os

import pytest

from services.platform.db_tuning import DatabaseTuning, default_pool_size
from services.platform.settings import Settings, SettingsError


def test_defaults_when_unset():
    tuning = Settings.from_env({}).database
    assert tuning == DatabaseTuning()
    assert (tuning.statement_timeout_ms, tuning.lock_timeout_ms, tuning.idle_in_transaction_timeout_ms) == (
        10_000,
        5_000,
        5_000,
    )
    assert tuning.effective_pool_size() == default_pool_size() == min(32, (os.cpu_count() or 1) + 4)
    assert not tuning.transaction_pooler


def test_every_setting_is_read():
    tuning = Settings.from_env(
        {
            "SAMHANDLING_DB_CONNECT_TIMEOUT_S": "3",
            "SAMHANDLING_DB_STATEMENT_TIMEOUT_MS": "2000",
            "SAMHANDLING_DB_LOCK_TIMEOUT_MS": "100",
            "SAMHANDLING_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "0",
            "SAMHANDLING_DB_POOL_SIZE": "12",
            "SAMHANDLING_DB_MAX_OVERFLOW": "0",
            "SAMHANDLING_DB_POOL_TIMEOUT_S": "1.5",
            "SAMHANDLING_DB_TRANSACTION_POOLER": "on",
        }
    ).database
    assert tuning == DatabaseTuning(3, 2000, 100, 0, 12, 0, 1.5, True)
    assert tuning.server_settings() == {
        "synchronous_commit": "on",
        "statement_timeout": "2000",
        "lock_timeout": "100",
        "idle_in_transaction_session_timeout": "0",
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAMHANDLING_DB_LOCK_TIMEOUT_MS", "5s"),
        ("SAMHANDLING_DB_STATEMENT_TIMEOUT_MS", "-1"),
        ("SAMHANDLING_DB_CONNECT_TIMEOUT_S", "1"),  # libpq treats less than 2 s as 2 s
        ("SAMHANDLING_DB_POOL_TIMEOUT_S", "0"),
        ("SAMHANDLING_DB_TRANSACTION_POOLER", "yes"),
    ],
)
def test_malformed_settings_are_refused(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_admin_work_keeps_connection_bounds_but_no_statement_bounds():
    admin = DatabaseTuning(connect_timeout_s=7, transaction_pooler=True).for_admin("samhandling-x-migrate")
    assert (admin.statement_timeout_ms, admin.lock_timeout_ms, admin.idle_in_transaction_timeout_ms) == (0, 0, 0)
    assert (admin.connect_timeout_s, admin.transaction_pooler, admin.application_name) == (
        7,
        True,
        "samhandling-x-migrate",
    )


def test_a_database_error_never_carries_its_sql_parameters(tmp_path) -> None:
    """Errors reach logs (the interceptor logs unexpected ones): their text must not hold the
    statement's parameters, which may be health data or person numbers."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from services.platform.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(SQLAlchemyError) as err, engine.connect() as connection:
            connection.execute(text("INSERT INTO no_such_table VALUES (:secret)"), {"secret": "delicate-health-text"})
        assert "delicate-health-text" not in str(err.value)
    finally:
        engine.dispose()
