"""The capacity store on SQLite and PostgreSQL: snapshots and change pages are exact as of
the head they read, even when later reports commit while they read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.capacity import sequence_store
from services.capacity.domain import Report, Status, UnitFilter, UnitType
from services.capacity.main import BACKEND, Stores
from services.capacity.models import ReportRow
from services.capacity.store import report_columns
from services.platform.db import make_engine, make_sessions
from tests.fixtures.postgres import wait_until_blocked_by
from tests.support import settings_for


@pytest.fixture
def stores(tmp_path, db_url):
    settings = settings_for(tmp_path, capacity=db_url)
    BACKEND.migrate(settings)
    BACKEND.seed(settings)
    engine = make_engine(db_url)
    yield Stores.over(make_sessions(engine))
    engine.dispose()


def report(resource_type: str, available: int) -> Report:
    return Report("bodo-kad", resource_type, 10, available, 0, Status.NORMAL, "", datetime.now(UTC), "demo-ehr")


def reads_head_before(monkeypatch, position: int) -> None:
    """As if the store read the head just before later reports committed."""
    real = sequence_store.head
    monkeypatch.setattr(
        sequence_store,
        "head",
        lambda session, name: position if name == sequence_store.CAPACITY else real(session, name),
    )


def test_a_snapshot_is_the_state_at_its_head_even_if_later_reports_committed_meanwhile(stores, monkeypatch):
    capacity = stores.capacity
    kad = UnitFilter(unit_type=UnitType.KAD, region="Nordland")
    before = capacity.snapshot(kad)
    first, _ = capacity.report(report("bed", 5))
    capacity.report(report("bed", 4))  # the same resource again, after the head read below
    capacity.report(report("stretcher", 1))  # a resource first reported after it
    at_first = capacity.snapshot(kad)
    reads_head_before(monkeypatch, first.position)
    snapshot = capacity.snapshot(kad)
    assert snapshot.position == first.position
    ((unit_before,), (unit,)) = (before.units, snapshot.units)
    assert [(c.position, c.report.resource_type, c.report.available) for c in unit.resources] == [
        (first.position, "bed", 5)
    ]
    assert unit_before.resources[0].report.available == 1  # the seed's, replaced by `first`
    assert [c.report.resource_type for c in at_first.units[0].resources] == ["bed", "stretcher"]


def test_changes_stop_at_the_head_they_read_and_page_in_order(stores, monkeypatch):
    capacity = stores.capacity
    start = capacity.head()
    positions = [capacity.report(report("bed", i))[0].position for i in range(5)]
    assert positions == list(range(start + 1, start + 6))
    page = capacity.changes(UnitFilter(), start, limit=2)
    assert ([c.position for c in page.items], page.upto, page.more) == (positions[:2], positions[1], True)
    page = capacity.changes(UnitFilter(), positions[1], limit=10)
    assert ([c.position for c in page.items], page.upto, page.more) == (positions[2:], positions[-1], False)
    elsewhere = capacity.changes(UnitFilter(municipality_number="3201"), start, limit=10)
    assert (elsewhere.items, elsewhere.upto) == ([], positions[-1])
    reads_head_before(monkeypatch, positions[2])
    page = capacity.changes(UnitFilter(), start, limit=10)
    assert ([c.position for c in page.items], page.upto) == (positions[:3], positions[2])


@pytest.mark.postgres
def test_on_postgresql_a_writer_takes_its_position_only_after_the_previous_one_committed(tmp_path, postgres_url):
    """The guard of sequence_store.py: a report cannot commit a position while a lower one is still
    uncommitted, so a watcher that has read position n never finds n - 1 appear later."""
    settings = settings_for(tmp_path, capacity=postgres_url)
    BACKEND.migrate(settings)
    engine = make_engine(postgres_url)
    sessions = make_sessions(engine)
    capacity = Stores.over(sessions).capacity
    BACKEND.seed(settings)
    try:
        with ThreadPoolExecutor(1) as pool:
            with sessions.begin() as first:
                held = sequence_store.lock(first, sequence_store.CAPACITY) + 1  # a writer between lock and commit
                first_pid = first.scalar(text("SELECT pg_backend_pid()"))
                second = pool.submit(capacity.report, report("bed", 2))
                wait_until_blocked_by(engine, first_pid)
                assert capacity.changes(UnitFilter(), held - 1, limit=10).items == []
                first.add(ReportRow(position=held, **report_columns(report("bed", 3))))
                sequence_store.advance(first, sequence_store.CAPACITY, held)
            change, _ = second.result(timeout=30)
        assert change.position == held + 1
        page = capacity.changes(UnitFilter(), held - 1, limit=10)
        assert [(c.position, c.report.available) for c in page.items] == [(held, 3), (held + 1, 2)]
    finally:
        engine.dispose()
