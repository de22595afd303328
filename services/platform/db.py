"""SQLAlchemy engines, sessions and Alembic migrations, the same for every service."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from opentelemetry import metrics
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.trace import TracerProvider
from sqlalchemy import Connection, DateTime, Engine, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from . import telemetry
from .db_tuning import KEEPALIVES, DatabaseTuning
from .secret_files import SecretFileError, read_secret_file

PASSWORD_FILE_SETTING = "SAMHANDLING_DATABASE_PASSWORD_FILE"

# The advisory lock every `migrate` of a PostgreSQL database holds around its upgrade. Advisory
# lock keys are per database, so one fixed key serialises the migrations of each database (of
# every script directory applied to it) and nothing else. The bytes spell "samhmigr".
MIGRATION_LOCK_KEY = 0x73616D686D696772


class DatabaseNotReady(RuntimeError):
    """A backend's database is unreachable or its schema is not at the newest revision: the
    process refuses to start. The message is one line and names the database (without password)."""


def make_engine(
    url: str, tracer_provider: TracerProvider | None = None, tuning: DatabaseTuning | None = None
) -> Engine:
    """An engine whose commits are durable: SQLite in WAL mode with synchronous=FULL;
    PostgreSQL with synchronous_commit=on, and every connection bounded by `tuning`
    (services/platform/db_tuning.py: timeouts, keepalives, pool size; defaults when None)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = _postgres_engine(url, tuning or DatabaseTuning())
    # Statement spans and the pool metric only where they go somewhere: each statement's hooks
    # cost as much as a small query's own Python work (docs/observability.md).
    if tracer_provider is not None and (telemetry.traces(tracer_provider) or telemetry.metrics_exported()):
        _trace_statements(engine, tracer_provider)
    return engine


def _postgres_engine(url: str, tuning: DatabaseTuning) -> Engine:
    """Directly, the GUCs travel once per connection in the startup packet's `options`. Through
    a transaction pooler (PgBouncer pool_mode=transaction) a client's transactions run on any
    server connection, so nothing may live in the session: the pooler refuses `options` (or, if
    told to ignore it, drops it silently), so the GUCs are set with set_config(..., is_local)
    as each transaction's first statement, and psycopg's server-side prepared statements (made
    after prepare_threshold executions, on one server connection) are turned off."""
    connect_args: dict[str, object] = {
        "connect_timeout": tuning.connect_timeout_s,
        "application_name": tuning.application_name,
        **KEEPALIVES,
    }
    gucs = tuning.server_settings()
    if tuning.transaction_pooler:
        connect_args["prepare_threshold"] = None
    else:
        connect_args["options"] = " ".join(f"-c {name}={value}" for name, value in gucs.items())
    if tuning.password_file is not None and make_url(url).password is not None:
        raise ValueError(f"a database URL carries a password and {PASSWORD_FILE_SETTING} names one too: keep one")
    engine = create_engine(
        url,
        hide_parameters=True,  # a database error's text must never carry health data into a log
        pool_pre_ping=True,
        pool_size=tuning.effective_pool_size(),
        max_overflow=tuning.max_overflow,
        pool_timeout=tuning.pool_timeout_s,
        connect_args=connect_args,
    )
    if tuning.transaction_pooler:
        # Values come from typed settings (integers and "on"), never from a request.
        settings = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in gucs.items())
        statement = f"SELECT {settings}"

        @event.listens_for(engine, "begin")
        def _per_transaction(connection: Connection) -> None:
            connection.exec_driver_sql(statement)

    if tuning.password_file is not None:
        _password_from_file(engine, tuning.password_file)
    return engine


def _password_from_file(engine: Engine, path: Path) -> None:
    """Every new connection reads the password from `path` and hands it to the driver as a
    connection argument. Read per connection, not once: a Secret volume's file changes in place
    when the Secret does, so a rotated password reaches new connections without a restart
    (docs/deploying.md "Secrets"); pooled connections stay authenticated. A file that cannot be
    read fails that connection like an unreachable server (the driver's OperationalError, so
    readiness and the callers treat it as such), naming the file, never a password."""
    operational_error = engine.dialect.loaded_dbapi.OperationalError

    @event.listens_for(engine, "do_connect")
    def _with_password(_dialect: Dialect, _record: object, _cargs: list[Any], cparams: dict[str, Any]) -> None:
        try:
            cparams["password"] = database_password(path)
        except SecretFileError as exc:
            raise operational_error(str(exc)) from None


def database_password(path: Path) -> str:
    """The password in SAMHANDLING_DATABASE_PASSWORD_FILE (one trailing newline stripped)."""
    return read_secret_file(path, PASSWORD_FILE_SETTING)


def _trace_statements(engine: Engine, tracer_provider: TracerProvider) -> None:
    """Spans for every SQL statement, under the span of the call that ran it.

    SQLAlchemyInstrumentor().instrument() is a process-wide singleton that instruments only
    the first engine it is given; EngineTracer is what it attaches per engine, so using it
    directly lets each engine report to its own provider.
    """
    usage = metrics.get_meter("samhandling.db").create_up_down_counter(
        "db.client.connections.usage", unit="connections", description="connections by state"
    )
    EngineTracer(tracer_provider.get_tracer("samhandling.db"), engine, usage)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str, migrations_dir: Path) -> Config:
    """Alembic's configuration for one service's migrations on the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, migrations_dir: Path, tuning: DatabaseTuning | None = None) -> None:
    """Brings the database at `url` to the newest revision of one service's migrations; safe
    to run concurrently (replicas starting together, a job and a developer).

    PostgreSQL: a transaction-level advisory lock (MIGRATION_LOCK_KEY) taken on a connection of
    its own and held, by keeping that transaction open, until the upgrade has committed. A
    second `migrate` waits for it, then reads the version table committed by the first, finds
    it at head and does nothing. Transaction-level, not session-level, because a session lock
    behind a transaction pooler stays on whichever server connection ran it (and could be
    released on another); an open transaction pins its server connection even there, and dies
    with the client, so a killed migrator never leaves the lock behind. The lock connection and
    the upgrade are admin work: no statement, lock or idle timeouts.

    SQLite: the upgrade's transaction begins with BEGIN IMMEDIATE (run_migrations_online), which
    takes the database's write lock before Alembic reads the version table, with the same effect.
    """
    admin = (tuning or DatabaseTuning()).for_admin(f"samhandling-{migrations_dir.parent.name}-migrate")
    config = alembic_config(url, migrations_dir)
    config.attributes["database_tuning"] = admin
    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(config, "head")
        return
    engine = make_engine(url, tuning=replace(admin, pool_size=1, max_overflow=0))
    try:
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.upgrade(config, "head")
            lock.rollback()  # ends the transaction, and with it the lock
    finally:
        engine.dispose()


def check_at_head(
    component: str,
    url: str,
    migrations_dir: Path,
    tuning: DatabaseTuning | None = None,
    *,
    version_table: str = "alembic_version",
) -> None:
    """Raises DatabaseNotReady unless the database at `url` is reachable and at the newest
    revision of `migrations_dir`: a server on an older schema would fail on its first call
    (or worse, write rows a pending migration would have constrained)."""
    shown = make_url(url).render_as_string(hide_password=True)
    expected = set(ScriptDirectory.from_config(alembic_config(url, migrations_dir)).get_heads())
    engine = make_engine(url, tuning=replace(tuning or DatabaseTuning(), pool_size=1, max_overflow=0))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": version_table})
            current = set(context.get_current_heads())
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise DatabaseNotReady(f"the {component} database {shown} is unreachable: {reason}") from None
    finally:
        engine.dispose()
    if current != expected:
        raise DatabaseNotReady(
            f"the {component} database {shown} is at revision {_revisions(current)}, expected "
            f"{_revisions(expected)}: run `samhandling migrate {component}`"
        )


def _revisions(revisions: set[str]) -> str:
    return ",".join(sorted(revisions)) or "none (empty)"


# Tables every component's database holds besides its own (the replay claims), with their own
# revision table; applied after the component's migrations (migrate_platform).
PLATFORM_MIGRATIONS = Path(__file__).parent / "migrations"
PLATFORM_VERSION_TABLE = "platform_alembic_version"


def migrate_platform(url: str, tuning: DatabaseTuning | None = None) -> None:
    migrate(url, PLATFORM_MIGRATIONS, tuning)


def check_platform_at_head(component: str, url: str, tuning: DatabaseTuning | None = None) -> None:
    """check_at_head for the platform's tables (the replay claims) in `component`'s database."""
    check_at_head(component, url, PLATFORM_MIGRATIONS, tuning, version_table=PLATFORM_VERSION_TABLE)


def run_migrations_online(version_table: str = "alembic_version") -> None:
    """The body of every service's Alembic env.py. All pending revisions run in one transaction,
    so a failed upgrade leaves the database as it was. `version_table` keeps the platform's own
    revisions (PLATFORM_MIGRATIONS) apart from the service's in the same database."""
    from alembic import context

    tuning = context.config.attributes.get("database_tuning") or DatabaseTuning().for_admin("samhandling-migrate")
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("the Alembic configuration names no sqlalchemy.url")
    engine = make_engine(url, tuning=tuning)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        _sqlite_migration_mode(engine)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection, render_as_batch=sqlite, transactional_ddl=True, version_table=version_table
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"the migration would leave {len(broken)} rows with broken foreign keys")
    finally:
        engine.dispose()


def _sqlite_migration_mode(engine: Engine) -> None:
    """SQLite for migrations: transactional DDL (pysqlite by itself commits DDL at once, so a
    failing revision would leave half its tables behind), and foreign keys off, because a batch
    rebuild (copy, drop, rename) drops tables other rows refer to — they are checked before the
    commit instead. The pragma only takes effect outside a transaction, hence on connect.
    IMMEDIATE: the write lock is taken before Alembic reads the version table, so of two
    concurrent upgrades the second waits (up to the 30 s busy timeout) and then finds the
    schema at head; a deferred BEGIN would let both read the old version and both migrate."""

    @event.listens_for(engine, "connect")
    def _autocommit_without_foreign_keys(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # the driver begins nothing; "begin" below does
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        if dbapi_connection.execute("PRAGMA foreign_keys").fetchone()[0] != 0:
            raise RuntimeError("SQLite kept foreign keys on for the migration")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class UtcDateTime(TypeDecorator):
    """A point in time, always written and read as an aware UTC datetime: PostgreSQL keeps the
    zone, SQLite does not, and no store should have to know which it talks to."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are refused: give times in UTC")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
