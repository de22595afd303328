"""PostgreSQL connections are bounded: the timeouts are in effect on pooled connections, a
statement waiting on a lock held elsewhere fails instead of hanging, and a transaction left
idle by a dead client is ended by the server so its locks are freed."""

from __future__ import annotations

import time
from dataclasses import replace

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from services.platform.db import make_engine
from services.platform.db_tuning import DatabaseTuning, default_pool_size

pytestmark = pytest.mark.postgres


def _shown(url: str, tuning: DatabaseTuning, *names: str) -> list[str]:
    engine = make_engine(url, tuning=tuning)
    try:
        with engine.connect() as connection:
            return [connection.exec_driver_sql(f"SHOW {name}").scalar_one() for name in names]
    finally:
        engine.dispose()


@pytest.mark.parametrize("pooler", [False, True], ids=["startup-options", "per-transaction"])
def test_pooled_connections_carry_the_timeouts(postgres_url, pooler):
    tuning = replace(
        DatabaseTuning(),
        lock_timeout_ms=1234,
        statement_timeout_ms=4321,
        idle_in_transaction_timeout_ms=2345,
        transaction_pooler=pooler,
        application_name="samhandling-t",
    )
    names = (
        "lock_timeout",
        "statement_timeout",
        "idle_in_transaction_session_timeout",
        "synchronous_commit",
        "application_name",
    )
    assert _shown(postgres_url, tuning, *names) == ["1234ms", "4321ms", "2345ms", "on", "samhandling-t"]


def test_defaults_and_pool_size_follow_the_executor(postgres_url):
    engine = make_engine(postgres_url)
    try:
        assert engine.pool.size() == default_pool_size()
        with engine.connect() as connection:
            shown = [
                connection.exec_driver_sql(f"SHOW {n}").scalar_one()
                for n in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")
            ]
            assert shown == ["5s", "10s", "5s"]
            assert connection.connection.dbapi_connection.prepare_threshold == 5  # psycopg's default
    finally:
        engine.dispose()


def test_admin_work_runs_without_timeouts(postgres_url):
    admin = DatabaseTuning().for_admin("samhandling-test-migrate")
    assert _shown(postgres_url, admin, "lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout") == [
        "0",
        "0",
        "0",
    ]


def _table_with_one_row(url: str) -> psycopg.Connection:
    """A direct connection (dbname from the URL) with a table `t` holding row 1."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    direct = psycopg.connect(dsn, autocommit=True)
    direct.execute("CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL)")
    direct.execute("INSERT INTO t VALUES (1, 0)")
    return direct


def test_a_statement_waiting_on_a_row_lock_fails_with_the_lock_timeout(postgres_url):
    holder = _table_with_one_row(postgres_url)
    # Should lock_timeout not work, the holder's own idle timeout frees the row after 5 s and the
    # update below succeeds: the test fails instead of hanging.
    holder.execute("SET idle_in_transaction_session_timeout = 5000")
    holder.autocommit = False
    holder.execute("SELECT n FROM t WHERE id = 1 FOR UPDATE")
    engine = make_engine(postgres_url, tuning=replace(DatabaseTuning(), lock_timeout_ms=200))
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError) as refused, engine.begin() as connection:
            connection.execute(text("UPDATE t SET n = n + 1 WHERE id = 1"))
        assert refused.value.orig.sqlstate == "55P03"  # lock_not_available
        assert time.monotonic() - started < 4
    finally:
        engine.dispose()
        holder.close()


def test_a_transaction_left_idle_by_its_client_is_ended_and_its_lock_freed(postgres_url):
    """As when a pod dies mid-transaction without closing its socket: the server ends the idle
    transaction, and a waiter (without a lock timeout of its own) gets the row."""
    _table_with_one_row(postgres_url).close()
    dead = make_engine(postgres_url, tuning=replace(DatabaseTuning(), idle_in_transaction_timeout_ms=300))
    waiter = make_engine(postgres_url, tuning=replace(DatabaseTuning(), lock_timeout_ms=0, statement_timeout_ms=10_000))
    try:
        abandoned = dead.connect()
        abandoned.execute(text("SELECT n FROM t WHERE id = 1 FOR UPDATE"))
        started = time.monotonic()
        with waiter.begin() as connection:
            connection.execute(text("UPDATE t SET n = n + 1 WHERE id = 1"))
        assert time.monotonic() - started < 5
        with pytest.raises(DBAPIError) as ended:
            abandoned.execute(text("SELECT 1"))
        assert ended.value.orig.sqlstate == "25P03"  # idle_in_transaction_session_timeout
        abandoned.invalidate()
    finally:
        dead.dispose()
        waiter.dispose()


def test_a_replica_that_dies_holding_the_audit_head_lock_stalls_appends_only_briefly(postgres_url):
    """The audit log's head row serialises appenders across replicas. A replica that vanishes
    mid-append leaves its transaction idle: peers' appends fail fast (lock_timeout) instead of
    hanging, and once the server has ended the dead transaction they succeed again."""
    from services.audit.main import BACKEND
    from services.audit.store import AuditStore
    from services.platform.db import make_sessions, migrate
    from tests.fixtures.samples import audit_record

    migrate(postgres_url, BACKEND.migrations)
    dying = make_engine(postgres_url, tuning=replace(DatabaseTuning(), idle_in_transaction_timeout_ms=1500))
    peer = make_engine(postgres_url, tuning=replace(DatabaseTuning(), lock_timeout_ms=200))
    try:
        store = AuditStore(make_sessions(peer))
        abandoned = dying.connect()
        abandoned.execute(text("UPDATE audit_log_head SET size = size WHERE id = 1"))  # as _lock_head does
        with pytest.raises(OperationalError) as refused:
            store.append([audit_record(idempotency_key="while-locked")])
        assert refused.value.orig.sqlstate == "55P03"
        deadline = time.monotonic() + 10
        while True:  # the server ends the idle transaction after 1.5 s; until then appends are refused
            try:
                (row,) = store.append([audit_record(idempotency_key="after")])
                break
            except OperationalError as exc:
                assert exc.orig.sqlstate == "55P03" and time.monotonic() < deadline
        assert row.sequence == 1
        abandoned.invalidate()
    finally:
        dying.dispose()
        peer.dispose()
