"""SQLAlchemy engines, sessions and Alembic migrations, the same for every service."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from opentelemetry import metrics
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.trace import TracerProvider
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker


def make_engine(url: str, tracer_provider: TracerProvider | None = None) -> Engine:
    """An engine whose commits are durable: SQLite in WAL mode with synchronous=FULL;
    PostgreSQL keeps its default synchronous_commit=on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # Stated, not assumed: a commit returns only once it is flushed to the WAL on disk.
        engine = create_engine(url, pool_pre_ping=True, connect_args={"options": "-c synchronous_commit=on"})
    if tracer_provider is not None:
        _trace_statements(engine, tracer_provider)
    return engine


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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
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


def migrate(url: str, migrations_dir: Path) -> None:
    """Brings the database at `url` to the newest revision of one service's migrations."""
    command.upgrade(alembic_config(url, migrations_dir), "head")


# Tables every component's database holds besides its own (the replay claims), with their own
# revision table; applied after the component's migrations (migrate_platform).
PLATFORM_MIGRATIONS = Path(__file__).parent / "migrations"
PLATFORM_VERSION_TABLE = "platform_alembic_version"


def migrate_platform(url: str) -> None:
    migrate(url, PLATFORM_MIGRATIONS)


def run_migrations_online(version_table: str = "alembic_version") -> None:
    """The body of every service's Alembic env.py. All pending revisions run in one transaction,
    so a failed upgrade leaves the database as it was. `version_table` keeps the platform's own
    revisions (PLATFORM_MIGRATIONS) apart from the service's in the same database."""
    from alembic import context

    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
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
    commit instead. The pragma only takes effect outside a transaction, hence on connect."""

    @event.listens_for(engine, "connect")
    def _autocommit_without_foreign_keys(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the driver begins nothing; "begin" below does
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        if dbapi_connection.execute("PRAGMA foreign_keys").fetchone()[0] != 0:
            raise RuntimeError("SQLite kept foreign keys on for the migration")

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN")


class UtcDateTime(TypeDecorator):
    """A point in time, always written and read as an aware UTC datetime: PostgreSQL keeps the
    zone, SQLite does not, and no store should have to know which it talks to."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are refused: give times in UTC")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
