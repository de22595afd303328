"""A real backend behind PgBouncer in transaction mode: migrated, seeded and served through it,
with more concurrent calls than PgBouncer has server connections."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bench.audit_appends import call_records
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.audit.main import BACKEND as AUDIT
from services.audit.store import AppendCall, AuditStore
from services.platform.db import make_engine, make_sessions, migrate
from services.platform.db_tuning import DatabaseTuning
from services.platform.replay_store import ReplayTicket
from tests.fixtures.pgbouncer import PgBouncer
from tests.fixtures.pgbouncer_pool import POOLED
from tests.support import asserted, running_backend, settings_for

pytestmark = pytest.mark.postgres
OVERVIEW = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
REPORT = "/samhandling.capacity.v1.CapacityService/ReportCapacity"
BODO_POINTS_OF_CARE = {"910000020", "910000039"}


@pytest.fixture
def pooled_url(pgbouncer: PgBouncer, postgres_url: str) -> str:
    return pgbouncer.url(postgres_url.rsplit("/", 1)[1])


def test_the_pooler_refuses_startup_options_so_pooled_engines_send_none(pooled_url):
    direct = make_engine(pooled_url, tuning=DatabaseTuning())
    try:
        with pytest.raises(OperationalError, match="unsupported startup parameter: options"):
            direct.connect()
    finally:
        direct.dispose()
    pooled = make_engine(pooled_url, tuning=replace(POOLED, lock_timeout_ms=1234))
    try:
        for _ in range(3):  # each transaction, on whichever server connection, has its timeouts
            with pooled.begin() as connection:
                assert connection.execute(text("SHOW lock_timeout")).scalar_one() == "1234ms"
                assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "10s"
    finally:
        pooled.dispose()


def test_a_client_connection_may_move_between_server_connections_without_prepared_statements(pooled_url):
    """psycopg prepares a statement on the server after prepare_threshold executions; behind a
    transaction pooler the next transaction may run on another server connection, which does
    not know it. Pooled engines prepare nothing, so the move is harmless."""
    mover = make_engine(pooled_url, tuning=replace(POOLED, pool_size=1, max_overflow=0))
    pinner = make_engine(pooled_url, tuning=replace(POOLED, pool_size=1, max_overflow=0))
    query = text("SELECT CAST(:n AS int) + 1, pg_backend_pid()")
    try:
        with mover.connect() as connection:
            before = set()
            for n in range(8):  # past psycopg's default prepare_threshold of 5
                with connection.begin():
                    before.add(connection.execute(query, {"n": n}).one()[1])
            with pinner.connect() as other, other.begin():
                # PgBouncer hands out its most recently used server connection first: the one the
                # mover just used is now pinned by this open transaction.
                pinned = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
                after = set()
                for n in range(8):
                    with connection.begin():
                        assert connection.execute(query, {"n": n}).one()[0] == n + 1
                        after.add(connection.execute(query, {"n": n}).one()[1])
            assert pinned in before and pinned not in after  # the mover did run elsewhere
    finally:
        mover.dispose()
        pinner.dispose()


def test_migrations_through_the_pooler_are_safe_to_repeat(pooled_url):
    from services.backend_lookup import backend

    migrations = backend("capacity").migrations
    migrate(pooled_url, migrations, POOLED)
    migrate(pooled_url, migrations, POOLED)  # at head: does nothing, and the lock was released
    engine = make_engine(pooled_url, tuning=POOLED)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
    finally:
        engine.dispose()


async def test_capacity_serves_concurrent_writes_and_reads_through_the_pooler(tmp_path, pooled_url, pgbouncer):
    settings = replace(settings_for(tmp_path, capacity=pooled_url), database=POOLED)
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        before = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        units = [u.unit_id for u in before.units if u.orgnr in BODO_POINTS_OF_CARE]
        reports = [
            capacity_pb2.ReportCapacityRequest(
                unit_id=units[i % len(units)],
                resource_type=f"bed_{i % 4}",
                total=20 + i,
                available=1,
                occupied=i % 19,
                status=capacity_pb2.CAPACITY_STATUS_NORMAL,
            )
            for i in range(24)
        ]
        # 24 writes and 24 reads at once: 8 client connections share PgBouncer's 2 server
        # connections, and every statement runs far more often than psycopg's prepare_threshold.
        calls = [stub.ReportCapacity(r, metadata=asserted(settings, "capacity", REPORT)) for r in reports]
        calls += [
            stub.GetCapacityOverview(
                capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
            )
            for _ in range(24)
        ]
        assert len(calls) > POOLED.pool_size > pgbouncer.pool_size
        await asyncio.gather(*calls)
        after = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        assert after.position == before.position + len(reports)
        latest = {(u.unit_id, r.resource_type): r.total for u in after.units for r in u.resources}
        reported: dict[tuple[str, str], set[int]] = {}
        for report in reports:
            reported.setdefault((report.unit_id, report.resource_type), set()).add(report.total)
        # Reports of one resource race; any of them may be the last, and every one was stored.
        assert all(latest[key] in totals for key, totals in reported.items())


def test_the_audit_leader_needs_a_session_behind_the_pooler(tmp_path, pooled_url, postgres_url):
    """A session advisory lock taken through a transaction pooler stays on a server connection
    other clients are handed: two replicas could lead at once. So the audit service refuses to
    start without a direct session URL, and with one, one replica leads at a time."""
    from services.audit.integrator import Integrator
    from services.audit.leader_engine import leader_engine
    from services.audit.signer import load_log_signer
    from services.platform.settings import SettingsError

    pooled = replace(settings_for(tmp_path, audit=pooled_url), database=POOLED)
    with pytest.raises(SettingsError, match="SAMHANDLING_AUDIT_SESSION_DATABASE_URL"):
        leader_engine(pooled)
    AUDIT.migrate(replace(settings_for(tmp_path, audit=postgres_url)))
    direct = replace(pooled, session_database_urls={"audit": postgres_url})
    engines = [leader_engine(direct), leader_engine(direct)]
    assert all(engine is not None for engine in engines)
    first, second = (Integrator(engine, load_log_signer(direct)) for engine in engines if engine is not None)
    try:
        first.step()
        second.step()
        assert (first.leading, second.leading) == (True, False)
        first.resign()  # as a replica going down: its session, and the lock, end
        second.step()
        assert second.leading
    finally:
        first.resign()
        second.resign()
        for engine in engines:
            if engine is not None:
                engine.dispose()


def test_audit_appends_through_the_pooler_store_each_event_once_and_refuse_a_replay(tmp_path, pooled_url, postgres_url):
    """The audit store sends its common append as two psycopg pipelines (the claims with the
    reservation, the insert with the commit); behind a transaction pooler, with the GUCs set per
    transaction and nothing prepared, each append is stored, a resent one is stored once, and a
    replayed claim stores nothing."""
    AUDIT.migrate(settings_for(tmp_path, audit=postgres_url))
    engine = make_engine(pooled_url, tuning=replace(POOLED, pool_size=2, max_overflow=0))
    try:
        store = AuditStore(make_sessions(engine))

        def ticket() -> ReplayTicket:
            return ReplayTicket(os.urandom(32), int(time.time()) + 600)

        sequences = []
        for _ in range(8):  # past psycopg's prepare_threshold, on whichever server connection
            stored = store.append_calls([AppendCall(call_records(), ticket())])[0]
            assert stored is not None
            sequences += [event.sequence for event in stored]
        assert sequences == list(range(1, 17))
        records = call_records()
        first = store.append_calls([AppendCall(records, ticket())])[0]
        again = store.append_calls([AppendCall(records, ticket())])[0]  # resent with a new assertion
        assert first is not None and again is not None
        assert [e.sequence for e in again] == [e.sequence for e in first] == [17, 18]
        replayed = ticket()
        assert store.append_calls([AppendCall(call_records(), replayed)])[0] is not None
        assert store.append_calls([AppendCall(call_records(), replayed)]) == [None]
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 20
    finally:
        engine.dispose()
