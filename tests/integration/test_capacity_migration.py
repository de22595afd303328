"""Revision 0002 of the capacity database on SQLite and PostgreSQL: reports stored before it
become the first history, in the order they were reported, and reporting carries on after them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import text

from services.capacity.domain import Report, Status, UnitFilter
from services.capacity.main import BACKEND
from services.capacity.store import CapacityStore
from services.platform.db import alembic_config, make_engine, make_sessions


def test_reports_stored_before_0002_become_the_first_history(db_url):
    config = alembic_config(db_url, BACKEND.migrations)
    command.upgrade(config, "0001")
    engine = make_engine(db_url)
    noon = datetime(2026, 3, 1, 12, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO units VALUES ('u-1', 'Legevakt', 'LEGEVAKT', '910000039', '910000012', '1804', 'Nordland')"
                )
            )
            for resource_type, available, minutes in (("bed", 2, 5), ("isolation_bed", 0, 1), ("stretcher", 1, 9)):
                connection.execute(
                    text("INSERT INTO resources VALUES ('u-1', :kind, 4, :available, 1, 'NORMAL', '', :at, 'old')"),
                    {"kind": resource_type, "available": available, "at": noon + timedelta(minutes=minutes)},
                )
        command.upgrade(config, "head")
        store = CapacityStore(make_sessions(engine))
        snapshot = store.snapshot(UnitFilter())
        assert snapshot.position == 3
        (unit,) = snapshot.units
        assert [(c.report.resource_type, c.position) for c in unit.resources] == [
            ("bed", 2),
            ("isolation_bed", 1),
            ("stretcher", 3),
        ]
        history, truncated = store.history("u-1", "", noon, noon + timedelta(hours=1))
        assert [c.position for c in history] == [1, 2, 3] and not truncated
        assert history[1].report.reported_at == noon + timedelta(minutes=5)

        later = Report("u-1", "bed", 4, 1, 3, Status.STRAINED, "", noon + timedelta(hours=2), "demo-ehr")
        change, state = store.report(later)
        assert change.position == 4 and store.head() == 4
        assert [c.position for c in state.resources] == [4, 1, 3]

        command.downgrade(config, "0001")
        command.upgrade(config, "head")
    finally:
        engine.dispose()
