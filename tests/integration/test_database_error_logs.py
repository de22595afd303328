"""SQL parameters never reach a log (docs/architecture.md "Free text"): a database error with a recognisable
value, raised by an engine from `make_engine` on SQLite and PostgreSQL and logged as the
services log an unhandled error, leaves no trace of the value in what the log formatter writes."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.platform.db import make_engine
from services.platform.logs import DATABASE_ERROR_WITHHELD, JsonFormatter
from tests.fixtures import people

SECRET = "Hemmelig-helsetekst-4711"
PERSON = people.TOR


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE notes (id VARCHAR(64) PRIMARY KEY, note VARCHAR(500))"))
        connection.execute(sa.text("INSERT INTO notes VALUES (:id, :note)"), {"id": SECRET, "note": PERSON})
    yield engine
    engine.dispose()


def logged(action) -> str:
    """What the JSON formatter writes for an error logged with its traceback, as the server
    interceptor logs an unhandled one (services.platform.interceptors)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    log = logging.getLogger("test.database_error_logs")
    log.addHandler(handler)
    try:
        try:
            action()
        except Exception:
            log.exception("unhandled error in %s", "/samhandling.test.v1.Notes/Write")
        else:
            pytest.fail("the database accepted what it should refuse")
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_a_duplicate_key_error_is_logged_without_the_key(engine):
    # PostgreSQL's DETAIL quotes it: Key (id)=(Hemmelig-helsetekst-4711) already exists.
    def duplicate() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO notes VALUES (:id, :note)"), {"id": SECRET, "note": "x"})

    text = logged(duplicate)
    assert SECRET not in text and PERSON not in text
    assert "IntegrityError" in text and DATABASE_ERROR_WITHHELD in text  # still says what failed


def test_a_bad_value_error_is_logged_without_the_value(engine):
    # A value the database cannot take: PostgreSQL quotes it ("invalid input syntax ...").
    def bad_value() -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.text("SELECT CAST(:v AS INTEGER) + 1 FROM notes WHERE note = :v || 'x'"), {"v": SECRET}
            ).scalar_one()

    if engine.dialect.name == "sqlite":  # SQLite casts anything; a missing table fails instead

        def bad_value() -> None:
            with engine.begin() as connection:
                connection.execute(sa.text("SELECT note FROM missing WHERE note = :v"), {"v": SECRET})

    text = logged(bad_value)
    assert SECRET not in text


@pytest.mark.postgres
def test_a_nul_in_a_parameter_is_logged_without_the_text(postgres_url):
    # PostgreSQL refuses NUL in text: the error once carried the whole health text into the log.
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE notes (note VARCHAR(500))"))

        def nul() -> None:
            with engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO notes VALUES (:note)"), {"note": f"{SECRET}\x00{PERSON}"})

        text = logged(nul)
    finally:
        engine.dispose()
    assert SECRET not in text and PERSON not in text


def test_every_engine_of_the_product_is_made_by_make_engine():
    # hide_parameters=True is set in one place; an engine made anywhere else would not have it.
    root = Path(__file__).resolve().parents[2]
    made_elsewhere = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("services", "gateway", "scripts", "bench")
        for path in sorted((root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\b(create_engine|create_async_engine|engine_from_config)\(", line)
        and path != root / "services" / "platform" / "db.py"
    ]
    assert made_elsewhere == []
    source = (root / "services" / "platform" / "db.py").read_text()
    assert source.count("create_engine(") == source.count("hide_parameters=True") == 2
