"""The database fixtures hand out real, empty, isolated databases on both backends."""

from __future__ import annotations

import sqlalchemy as sa

from tests.fixtures.postgres import PostgresServer

metadata = sa.MetaData()
notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(100), nullable=False),
)


def test_db_url_gives_an_empty_writable_database(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        # Empty: a leftover from another test (or a shared database) would show up here.
        assert sa.inspect(engine).get_table_names() == []
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.insert(notes), [{"text": "første"}, {"text": "andre"}])
        with engine.connect() as conn:
            rows = conn.execute(sa.select(notes.c.text).order_by(notes.c.id)).scalars().all()
        assert rows == ["første", "andre"]
        assert engine.dialect.name == db_url.split(":", 1)[0].split("+", 1)[0]
    finally:
        engine.dispose()


def test_postgres_url_is_a_real_postgresql_server(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        assert str(version).startswith("PostgreSQL ")
        assert postgres_url.endswith(f"/{database}")
    finally:
        engine.dispose()


def test_postgres_databases_are_dropped_after_each_test(postgres_server: PostgresServer) -> None:
    engine = sa.create_engine(postgres_server.url("postgres"))
    try:
        with engine.connect() as conn:
            leftovers = (
                conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'")).scalars().all()
            )
        assert leftovers == []
    finally:
        engine.dispose()
