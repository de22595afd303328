"""The shared replay store on a real SQLite file: one claim wins across stores (replicas),
expired rows are swept, and a store that cannot answer refuses."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.platform.db import make_engine, migrate_platform
from services.platform.replay import ReplayStoreUnavailable
from services.platform.replay_store import MAX_BATCH, REPLAY_CLAIMS, SWEEP_GRACE_SECONDS, ReplayStore

NOW = 1_800_000_000


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate_platform(url)
    return url


@pytest.fixture
def stores(url: str):
    """Two stores on one database file: two replicas of one component."""
    opened = [ReplayStore.open(url, "dpop", clock=lambda: NOW) for _ in range(2)]
    yield opened
    for store in opened:
        store.close()


async def test_a_key_is_claimed_once_whichever_replica_asks(stores):
    a, b = stores
    assert await a.claim("https://gw/x|jti-1", NOW + 65)
    assert not await b.claim("https://gw/x|jti-1", NOW + 65)
    assert not await a.claim("https://gw/x|jti-1", NOW + 65)
    assert await b.claim("https://gw/x|jti-2", NOW + 65)


async def test_concurrent_claims_of_one_key_have_exactly_one_winner(stores):
    a, b = stores
    answers = await asyncio.gather(*(store.claim("same", NOW + 65) for store in (a, b) * 4))
    assert sorted(answers) == [False] * 7 + [True]


async def test_namespaces_keep_dpop_and_assertion_ids_apart(url, stores):
    assertions = ReplayStore.open(url, "assertion")
    try:
        assert await stores[0].claim("jti-1", NOW + 65)
        assert await assertions.claim("jti-1", NOW + 35)
    finally:
        assertions.close()


async def test_the_sweep_removes_only_rows_past_their_window_and_the_grace(url, stores):
    a, _ = stores
    assert await a.claim("recent", NOW - SWEEP_GRACE_SECONDS + 1)  # the first claim sweeps (nothing yet) ...
    assert await a.claim("live", NOW + 65)
    assert await a.claim("old", NOW - SWEEP_GRACE_SECONDS - 1)  # ... the next ones not for SWEEP_SECONDS
    assert a.sweep() == 1
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            kept = connection.execute(sa.select(REPLAY_CLAIMS.c.expires_at).order_by("expires_at")).scalars().all()
    finally:
        engine.dispose()
    assert kept == [NOW - SWEEP_GRACE_SECONDS + 1, NOW + 65]
    assert not await a.claim("live", NOW + 65)  # a swept store still remembers what is live


async def test_a_locked_database_refuses_within_the_timeout(url, tmp_path):
    store = ReplayStore.open(url, "dpop", timeout=0.2)
    holder = sqlite3.connect(tmp_path / "gateway.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
        with pytest.raises(ReplayStoreUnavailable):
            await store.claim("jti-1", NOW + 65)
        holder.execute("ROLLBACK")
        assert await store.claim("jti-2", NOW + 65)
    finally:
        holder.close()
        store.close()


async def test_claims_that_give_up_while_their_batch_waits_leave_the_store_working(url, tmp_path):
    """Claims queued behind a batch that waits for a lock run out of time before their own batch
    has an answer; they are refused, and the store answers the next claims as usual."""
    store = ReplayStore.open(url, "dpop", timeout=0.2)
    holder = sqlite3.connect(tmp_path / "gateway.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        first = asyncio.ensure_future(store.claim("jti-1", NOW + 65))
        queued = await asyncio.gather(*(store.claim(f"jti-{n}", NOW + 65) for n in (2, 3)), return_exceptions=True)
        assert [type(answer) for answer in queued] == [ReplayStoreUnavailable] * 2
        with pytest.raises(ReplayStoreUnavailable):
            await first
        holder.execute("ROLLBACK")
        assert await asyncio.gather(store.claim("jti-4", NOW + 65), store.claim("jti-1", NOW + 65)) == [True, True]
    finally:
        holder.close()
        store.close()


async def test_a_database_without_the_table_refuses(tmp_path):
    store = ReplayStore.open(f"sqlite:///{tmp_path / 'unmigrated.db'}", "dpop")
    try:
        with pytest.raises(ReplayStoreUnavailable):
            await store.claim("jti-1", NOW + 65)
    finally:
        store.close()


def test_the_platform_migrations_keep_their_own_revision_table(url):
    migrate_platform(url)  # a second time: nothing to do
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            revisions = connection.execute(sa.text("SELECT version_num FROM platform_alembic_version")).scalars().all()
    finally:
        engine.dispose()
    # The component's own `alembic_version` stays untouched by the platform's revisions.
    assert tables == {"replay_claims", "web_logins", "web_sessions", "web_marks", "platform_alembic_version"}
    assert revisions == ["0003"]


# -- group commit and the commit's durability, on SQLite and PostgreSQL (`db_url`) -----------


@pytest.fixture
def migrated(db_url: str) -> str:
    migrate_platform(db_url)
    return db_url


def _count_inserts(store: ReplayStore) -> list[int]:
    """How many claim INSERTs the store's engine ran (one per transaction of claims)."""
    inserts: list[int] = []

    @sa.event.listens_for(store._engine, "before_cursor_execute")
    def _counted(_conn, _cursor, statement: str, *_args) -> None:
        if statement.startswith("INSERT INTO replay_claims"):
            inserts.append(1)

    return inserts


async def test_concurrent_claims_share_one_transaction_and_each_key_wins_once(migrated):
    store = ReplayStore.open(migrated, "assertion", clock=lambda: NOW)
    try:
        inserts = _count_inserts(store)
        keys = [f"jti-{n}" for n in range(MAX_BATCH + 44)]
        answers = await asyncio.gather(*(store.claim(key, NOW + 35) for key in keys))
        assert answers == [True] * len(keys)
        # All were waiting before the first transaction began: two transactions, not 300.
        assert len(inserts) == 2
        again = await asyncio.gather(*(store.claim(key, NOW + 35) for key in keys[:3] + ["jti-new"]))
        assert again == [False, False, False, True]
    finally:
        store.close()


async def test_one_key_twice_in_one_batch_is_a_first_use_once(migrated):
    store = ReplayStore.open(migrated, "assertion", clock=lambda: NOW)
    try:
        inserts = _count_inserts(store)
        answers = await asyncio.gather(*(store.claim(key, NOW + 35) for key in ("a", "same", "b", "same", "same")))
        assert answers == [True, True, True, False, False]
        assert len(inserts) == 1
    finally:
        store.close()


async def test_a_batch_that_fails_refuses_every_claim_in_it(tmp_path):
    store = ReplayStore.open(f"sqlite:///{tmp_path / 'unmigrated.db'}", "assertion")
    try:
        answers = await asyncio.gather(*(store.claim(f"jti-{n}", NOW + 35) for n in range(5)), return_exceptions=True)
        assert [type(answer) for answer in answers] == [ReplayStoreUnavailable] * 5
    finally:
        store.close()


async def test_only_an_asynchronous_store_commits_without_waiting_for_the_disk(migrated):
    """The backends' assertion store (synchronous_commit=False) and the gateway's DPoP store
    (the default): what each claim's transaction runs with, asked inside that transaction."""
    seen: dict[str, str] = {}
    for namespace, synchronous in (("dpop", True), ("assertion", False)):
        store = ReplayStore.open(migrated, namespace, synchronous_commit=synchronous)
        sqlite_url = store._engine.dialect.name == "sqlite"
        question = "PRAGMA synchronous" if sqlite_url else "SHOW synchronous_commit"

        @sa.event.listens_for(store._engine, "commit")
        def _asked(connection, namespace=namespace, question=question) -> None:
            # The first commit is the claim's (the sweep it may start follows in its own).
            seen.setdefault(namespace, str(connection.exec_driver_sql(question).scalar()))

        try:
            assert await store.claim("jti-1", NOW + 35)
        finally:
            store.close()
    # SQLite: 2 is FULL, 1 is NORMAL (WAL: commits reach the log file, fsync at checkpoints).
    assert seen == (
        {"dpop": "2", "assertion": "1"} if migrated.startswith("sqlite") else {"dpop": "on", "assertion": "off"}
    )
    # The asynchronous store's setting stays in its own transaction: the service's sessions keep theirs.
    engine = make_engine(migrated)
    try:
        with engine.connect() as connection:
            question = "PRAGMA synchronous" if migrated.startswith("sqlite") else "SHOW synchronous_commit"
            assert str(connection.exec_driver_sql(question).scalar()) in ("2", "on")
    finally:
        engine.dispose()


@pytest.mark.postgres
async def test_two_replicas_claiming_the_same_keys_in_opposite_orders_do_not_deadlock(postgres_url):
    """Each batch inserts its keys sorted, so two replicas' batches over the same keys lock rows
    in one order. Forced here: a third transaction holds one key of the middle while replica A
    claims the keys in one order and replica B in the reverse, both in one batch; once both
    wait for a lock, the holder rolls back. In arrival order A would then wait for B's rows
    and B for A's (PostgreSQL aborts one batch as a deadlock); sorted, every key has one winner."""
    migrate_platform(postgres_url)
    replicas = [ReplayStore.open(postgres_url, "assertion", clock=lambda: NOW) for _ in range(2)]
    keys = [f"jti-{n}" for n in range(60)]
    middle = sorted(keys, key=lambda key: hashlib.sha256(f"assertion\0{key}".encode()).digest())[30]
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as observer:
            holder.execute(
                "INSERT INTO replay_claims (key_hash, expires_at) VALUES (%s, %s)",
                (hashlib.sha256(f"assertion\0{middle}".encode()).digest(), NOW + 35),
            )
            forward, backward = (
                asyncio.ensure_future(asyncio.gather(*(store.claim(key, NOW + 35) for key in order)))
                for store, order in zip(replicas, (keys, keys[::-1]), strict=True)
            )
            async with asyncio.timeout(10):
                while observer.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchone() != (2,):
                    await asyncio.sleep(0.01)  # polling for both batches to wait, not a sleep for them
            holder.rollback()
            a, b = await asyncio.gather(forward, backward)
    finally:
        for store in replicas:
            store.close()
    assert [int(x) + int(y) for x, y in zip(a, b[::-1], strict=True)] == [1] * len(keys)
