"""AppendEvents commits its assertion's claim in the append's own transaction
(`Backend.claimed_in_handler`, services/audit/store.py): the claim and the events commit
together or not at all, an assertion used at one audit replica is a replay at the other, and an
append its handler refuses before storing anything still uses its assertion up. On a SQLite file
and on PostgreSQL (the `db_url` fixture)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
import sqlalchemy as sa

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from services.audit.main import BACKEND
from services.audit.store import AppendCall, AuditStore
from services.platform.db import make_sessions, migrate_platform
from services.platform.replay_store import REPLAY_CLAIMS, ReplayStore, claim_tickets
from services.platform.settings import Settings
from tests.fixtures.audit_events import APPEND, GATEWAY, at_once, event, record
from tests.fixtures.backend_replicas import replica_channels
from tests.support import BindsAssertions, asserted, expect_error, settings_for

UNAUTHENTICATED, INVALID_ARGUMENT = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT


@contextlib.asynccontextmanager
async def two_audit_replicas(settings: Settings) -> AsyncIterator[list[audit_pb2_grpc.AuditServiceStub]]:
    async with replica_channels(BACKEND, settings) as channels:
        yield [audit_pb2_grpc.AuditServiceStub(channel) for channel in channels]


def head_size(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text("SELECT size FROM audit_log_head")) or 0)
    finally:
        engine.dispose()


def bound(settings: Settings, request: audit_pb2.AppendEventsRequest) -> tuple[tuple[str, str], ...]:
    return BindsAssertions(settings).bind(asserted(settings, "audit", APPEND, actor=GATEWAY), request)


async def test_an_append_accepted_by_one_audit_replica_is_a_replay_at_the_other(tmp_path, db_url):
    settings = settings_for(tmp_path, audit=db_url)
    async with two_audit_replicas(settings) as (a, b):
        request = audit_pb2.AppendEventsRequest(events=[event("k-1"), event("k-2")])
        metadata = bound(settings, request)
        assert [e.sequence for e in (await a.AppendEvents(request, metadata=metadata)).events] == [1, 2]
        await expect_error(b.AppendEvents(request, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
        await expect_error(a.AppendEvents(request, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
        # A fresh assertion for the same request is a retry: its events are found, not stored again.
        again = await b.AppendEvents(request, metadata=bound(settings, request))
        assert [e.sequence for e in again.events] == [1, 2]
    assert head_size(db_url) == 2


async def test_an_append_refused_by_its_handler_still_uses_its_assertion_up(tmp_path, db_url):
    settings = settings_for(tmp_path, audit=db_url)
    async with two_audit_replicas(settings) as (a, b):
        empty = audit_pb2.AppendEventsRequest()  # no events: refused before anything is stored
        metadata = bound(settings, empty)
        await expect_error(a.AppendEvents(empty, metadata=metadata), INVALID_ARGUMENT, "INVALID_ARGUMENT")
        await expect_error(b.AppendEvents(empty, metadata=metadata), UNAUTHENTICATED, "ASSERTION_REPLAYED")
    assert head_size(db_url) == 0


@pytest.fixture
def store(audit_engine: sa.Engine, db_url: str) -> AuditStore:
    migrate_platform(db_url)
    return AuditStore(make_sessions(audit_engine))


def claimed(engine: sa.Engine) -> set[bytes]:
    with engine.connect() as connection:
        return {bytes(key) for (key,) in connection.execute(sa.select(REPLAY_CLAIMS.c.key_hash))}


def test_a_replayed_call_in_a_batch_stores_nothing_and_the_others_are_stored(store, audit_engine):
    tickets = ReplayStore(audit_engine, "assertion")
    used, fresh, twice = (tickets.ticket(jti, 2_000_000_000) for jti in ("used", "fresh", "twice"))
    with audit_engine.begin() as connection:
        claim_tickets(connection, [used])
    stored = store.append_calls(
        [
            AppendCall([record("k-replayed")], used),
            AppendCall([record("k-1"), record("k-2")], fresh),
            AppendCall([record("k-3")], twice),
            AppendCall([record("k-3"), record("k-4")], twice),  # the same ticket again: a replay
            AppendCall([record("k-replayed")]),  # claimed already: stores what the replay did not
        ]
    )
    assert stored[0] is None and stored[3] is None
    assert [[e.sequence for e in events] for events in stored if events is not None] == [[1, 2], [3], [4]]
    assert stored[4] is not None and stored[4][0].record.idempotency_key == "k-replayed"
    assert claimed(audit_engine) == {used.digest, fresh.digest, twice.digest}
    assert head_size(audit_engine.url.render_as_string(hide_password=False)) == 4


def test_a_failed_append_leaves_its_claim_unmade(store, audit_engine):
    ticket = ReplayStore(audit_engine, "assertion").ticket("lost", 2_000_000_000)
    with audit_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_log_head"))  # the reservation fails after the claim's insert
    with pytest.raises(RuntimeError, match="head row is missing"):
        store.append_calls([AppendCall([record("k-1")], ticket)])
    assert claimed(audit_engine) == set()


def test_concurrent_claimed_retries_on_two_replicas_store_the_event_once_and_keep_every_claim(store, audit_engine):
    # Two stores stand for two audit replicas; each call carries its own assertion's claim. A
    # call that loses the race for the shared key is rolled back whole, claim included, and
    # its retry claims again and finds the event.
    stores = [store, AuditStore(make_sessions(audit_engine))]
    tickets = ReplayStore(audit_engine, "assertion")
    results: list[tuple[str, int]] = []

    def retry(index: int) -> None:
        call = AppendCall([record("same-key"), record(f"own-{index}")], tickets.ticket(f"jti-{index}", 2_000_000_000))
        (stored,) = stores[index % 2].append_calls([call])
        assert stored is not None
        results.append((stored[0].event_id, stored[0].sequence))

    at_once(retry, 8)
    assert len(results) == 8 and len(set(results)) == 1
    assert head_size(audit_engine.url.render_as_string(hide_password=False)) == 9
    assert claimed(audit_engine) == {tickets.ticket(f"jti-{i}", 0).digest for i in range(8)}
