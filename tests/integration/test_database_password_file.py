"""SAMHANDLING_DATABASE_PASSWORD_FILE on a real PostgreSQL that demands a password: every kind
of connection a component makes (migrations, the schema check, the store's and the readiness
engine, the replay claims, the audit leader's engine, a LISTEN connection) authenticates with
the password read from the file; a wrong password fails closed with one clear line that holds
no password; a rotated password reaches new connections without new settings.

The session's server trusts its superuser (services/cli/dev_postgres.py); here a role of our
own gets a scram-sha-256 line in front of pg_hba.conf's trust lines, removed again afterwards."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from services.audit.leader_engine import leader_engine
from services.backend_lookup import backend
from services.platform import pg_notify
from services.platform.db import DatabaseNotReady, check_at_head, check_platform_at_head, make_engine
from services.platform.replay_store import ReplayStore
from services.platform.settings import REPO_ROOT, Settings, SettingsError
from tests.fixtures.postgres import PostgresServer

pytestmark = pytest.mark.postgres

DEADLINE_S = 60.0


@dataclass(frozen=True)
class PasswordRole:
    role: str
    password: str
    url: str  # no password in it


def _admin(server: PostgresServer, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=database, autocommit=True)


@pytest.fixture
def password_role(postgres_server: PostgresServer) -> Iterator[PasswordRole]:
    """A role that may log in over TCP only with its scram-sha-256 password, owning a fresh database."""
    role, password = f"pw_{uuid.uuid4().hex[:12]}", secrets.token_urlsafe(24)
    with _admin(postgres_server) as admin:
        (hba_file,) = admin.execute("SHOW hba_file").fetchone()
        hba = Path(hba_file)
        original = hba.read_text()
        hba.write_text(f"host all {role} {postgres_server.host}/32 scram-sha-256\n{original}")
        admin.execute("SELECT pg_reload_conf()")
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        database = postgres_server.create_database()
        admin.execute(f'ALTER DATABASE "{database}" OWNER TO {role}')
        with _admin(postgres_server, database) as in_database:
            in_database.execute(f"GRANT ALL ON SCHEMA public TO {role}")
        try:
            _wait_for_password_auth(postgres_server, role)
            yield PasswordRole(
                role, password, f"postgresql+psycopg://{role}@{postgres_server.host}:{postgres_server.port}/{database}"
            )
        finally:
            hba.write_text(original)
            admin.execute("SELECT pg_reload_conf()")
            postgres_server.drop_database(database)
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def _wait_for_password_auth(server: PostgresServer, role: str) -> None:
    """pg_reload_conf() signals the postmaster; new connections see the new pg_hba.conf once it
    has reloaded. Polls (with a deadline) until a password-less login is refused."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            psycopg.connect(host=server.host, port=server.port, user=role, dbname="postgres").close()
        except psycopg.OperationalError as exc:
            assert "password" in str(exc), exc
            return
        assert time.monotonic() < deadline, "pg_hba.conf was never reloaded"
        time.sleep(0.05)  # polling a condition with a deadline


def _password_file(tmp_path: Path, password: str) -> Path:
    path = tmp_path / "password"
    path.write_text(password + "\n")  # as `kubectl create secret --from-file` of an echoed value keeps it
    return path


def _env(role: PasswordRole, password_file: Path, component: str) -> dict[str, str]:
    return {
        f"SAMHANDLING_{component.upper()}_DATABASE_URL": role.url,
        "SAMHANDLING_DATABASE_PASSWORD_FILE": str(password_file),
    }


def _samhandling(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )


def test_the_password_is_needed_and_none_is_in_the_url(password_role: PasswordRole):
    settings = Settings.from_env({"SAMHANDLING_SUMMARY_DATABASE_URL": password_role.url})
    engine = make_engine(settings.database_url("summary"), tuning=settings.database)
    try:
        with pytest.raises(OperationalError, match="password"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_every_connection_of_a_backend_authenticates_with_the_password_from_the_file(
    password_role: PasswordRole, tmp_path: Path
):
    env = _env(password_role, _password_file(tmp_path, password_role.password), "audit")
    migrated = _samhandling("migrate", "audit", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert password_role.password not in migrated.stdout + migrated.stderr

    settings = Settings.from_env(env)
    url, tuning = settings.database_url("audit"), settings.database
    audit = backend("audit")
    check_at_head("audit", url, audit.migrations, tuning)
    check_platform_at_head("audit", url, tuning)
    engines = [make_engine(url, tuning=tuning), leader_engine(settings)]
    try:
        for engine in engines:
            assert engine is not None
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT current_user")) == password_role.role
            assert password_role.password not in repr(engine.url) and password_role.password not in str(engine.url)
    finally:
        for engine in engines:
            assert engine is not None
            engine.dispose()

    async def claims_and_listens() -> tuple[bool, str | None]:
        replay = ReplayStore.open(url, "assertion", None, tuning=tuning)
        try:
            claimed = await replay.claim("jti-1", time.time() + 60)
        finally:
            replay.close()
        listen_url = pg_notify.listen_url(settings.session_database_url("audit"))
        assert listen_url is not None and password_role.password not in listen_url
        listening = pg_notify.notifications(listen_url, ["test"], "samhandling-test", tuning.password_file)
        first = await anext(listening)
        await listening.aclose()
        return claimed, first

    assert asyncio.run(claims_and_listens()) == (True, None)  # None: LISTEN is in place


def test_a_wrong_password_fails_closed_with_one_line_and_no_password(
    password_role: PasswordRole, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    wrong = secrets.token_urlsafe(24)
    env = _env(password_role, _password_file(tmp_path, wrong), "summary")
    caplog.set_level(logging.DEBUG)
    settings = Settings.from_env(env)
    with pytest.raises(DatabaseNotReady) as refused:
        check_at_head("summary", settings.database_url("summary"), backend("summary").migrations, settings.database)
    assert "password authentication failed" in str(refused.value)
    assert wrong not in str(refused.value) and wrong not in caplog.text

    served = _samhandling("serve", "summary", env=env)
    assert served.returncode == 2, served.stderr
    (line,) = served.stderr.strip().splitlines()
    assert line.startswith("samhandling: the summary database ")
    assert f'password authentication failed for user "{password_role.role}"' in line
    assert wrong not in served.stdout + served.stderr


def test_a_rotated_password_reaches_new_connections_without_a_restart(
    password_role: PasswordRole, postgres_server: PostgresServer, tmp_path: Path
):
    password_file = _password_file(tmp_path, password_role.password)
    settings = Settings.from_env(_env(password_role, password_file, "summary"))
    engine = make_engine(settings.database_url("summary"), tuning=settings.database)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1
        rotated = secrets.token_urlsafe(24)
        with _admin(postgres_server) as admin:
            admin.execute(f"ALTER ROLE {password_role.role} PASSWORD '{rotated}'")
        engine.dispose()  # the pool's connections were authenticated with the old password
        with pytest.raises(OperationalError, match="password authentication failed"), engine.connect():
            pass
        password_file.write_text(rotated + "\n")  # what the kubelet does when the Secret changes
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_user")) == password_role.role
        password_file.unlink()  # the Secret's file gone: a new connection fails, naming the file
        engine.dispose()
        with pytest.raises(OperationalError, match="SAMHANDLING_DATABASE_PASSWORD_FILE: cannot read"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_a_password_in_the_url_as_well_as_a_file_is_refused(password_role: PasswordRole, tmp_path: Path):
    with_password = password_role.url.replace(
        f"{password_role.role}@", f"{password_role.role}:{password_role.password}@"
    )
    env = {
        **_env(password_role, _password_file(tmp_path, password_role.password), "summary"),
        "SAMHANDLING_SUMMARY_DATABASE_URL": with_password,
    }
    with pytest.raises(SettingsError, match="database URLs of summary carry a password too") as refused:
        Settings.from_env(env)
    assert password_role.password not in str(refused.value)
    with pytest.raises(ValueError, match="keep one"):
        make_engine(
            with_password, tuning=Settings.from_env(_env(password_role, tmp_path / "password", "summary")).database
        )
