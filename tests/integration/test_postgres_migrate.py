"""`samhandling migrate` is safe to run concurrently (on PostgreSQL as real processes, and on
SQLite), and `samhandling serve` refuses a database whose schema is not at head."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from services.backend_lookup import backend
from services.platform.db import MIGRATION_LOCK_KEY, alembic_config
from services.platform.settings import REPO_ROOT

DEADLINE_S = 60.0


def _samhandling(*args: str, url: str, component: str = "summary") -> subprocess.Popen[str]:
    env = {**os.environ, f"SAMHANDLING_{component.upper()}_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _direct(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _waiting_on_the_migration_lock(connection: psycopg.Connection) -> int:
    (count,) = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return int(count)


@pytest.mark.postgres
def test_two_concurrent_migrations_of_an_empty_database_both_succeed(postgres_url):
    head = ScriptDirectory.from_config(alembic_config(postgres_url, backend("summary").migrations)).get_current_head()
    with _direct(postgres_url) as holder:
        # Hold the lock so both runs are started and queued on it before either may migrate.
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        runs = [_samhandling("migrate", "summary", url=postgres_url) for _ in range(2)]
        try:
            deadline = time.monotonic() + DEADLINE_S
            while _waiting_on_the_migration_lock(holder) < 2:
                assert all(run.poll() is None for run in runs), [run.communicate() for run in runs]
                assert time.monotonic() < deadline, "the migrations never queued on the lock"
                time.sleep(0.05)  # polling a condition with a deadline
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        outcomes = [run.communicate(timeout=DEADLINE_S) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outcomes
        assert holder.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


@pytest.mark.postgres
def test_serve_refuses_an_empty_database_with_one_line(postgres_url):
    run = _samhandling("serve", "summary", url=postgres_url)
    _, stderr = run.communicate(timeout=DEADLINE_S)
    assert run.returncode == 2
    database = postgres_url.split("/")[-1]
    (line,) = [line for line in stderr.splitlines() if line.startswith("samhandling:")]
    assert "Traceback" not in stderr
    assert "the summary database postgresql+psycopg://postgres@" in line and database in line
    assert "is at revision none (empty), expected " in line and "run `samhandling migrate summary`" in line


@pytest.mark.postgres
def test_serve_refuses_an_outdated_schema_naming_both_revisions(postgres_url):
    migrations = backend("summary").migrations
    config = alembic_config(postgres_url, migrations)
    scripts = ScriptDirectory.from_config(config)
    head = scripts.get_current_head()
    older = scripts.get_revision(head).down_revision
    command.upgrade(config, str(older))
    run = _samhandling("serve", "summary", url=postgres_url)
    _, stderr = run.communicate(timeout=DEADLINE_S)
    assert run.returncode == 2
    assert f"is at revision {older}, expected {head}" in stderr
    assert "Traceback" not in stderr


# `samhandling migrate`, telling on stdout when it is about to take SQLite's write lock. (Processes,
# not threads: Alembic's `context` is one per process.)
_TELLING_MIGRATE = """
import sys
from sqlalchemy import Engine, event
from services.cli.main import main

@event.listens_for(Engine, "before_cursor_execute")
def _tell(connection, cursor, statement, *args):
    if statement == "BEGIN IMMEDIATE":
        print("waiting", flush=True)

sys.exit(main(["migrate", "summary"]))
"""


def test_two_concurrent_migrations_of_an_empty_sqlite_database_both_succeed(tmp_path):
    path = tmp_path / "summary.db"
    url = f"sqlite:///{path}"
    head = ScriptDirectory.from_config(alembic_config(url, backend("summary").migrations)).get_current_head()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")  # both runs must queue on the write lock before either migrates
    env = {**os.environ, "SAMHANDLING_SUMMARY_DATABASE_URL": url}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _TELLING_MIGRATE],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        # Each line comes before the run waits; a run that fails instead ends its stdout (bounded
        # by the 30 s busy timeout at worst).
        told = [run.stdout.readline().strip() for run in runs]
        assert told == ["waiting", "waiting"], [run.communicate(timeout=DEADLINE_S) for run in runs]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    outcomes = [run.communicate(timeout=DEADLINE_S) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outcomes
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
