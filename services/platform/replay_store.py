"""The replay store: single-use ids shared by every replica of a component, in its database.

A claim is one statement in its own transaction,

    INSERT INTO replay_claims (key_hash, expires_at) VALUES (...) ON CONFLICT DO NOTHING RETURNING key_hash

and the rows it returns are the answer: one, the first use; none, a replay (RETURNING, not
the driver's row count, which psycopg does not report for this statement). The primary key makes this
exact under any concurrency: on PostgreSQL a second replica inserting the same key waits for
the first one's transaction and then finds the conflict (or inserts, if the first rolled
back); SQLite serialises writers. The claim is committed (durably: synchronous_commit=on,
SQLite synchronous=FULL) before the credential is accepted, so a crash after acceptance
cannot forget it. The table is logged, not UNLOGGED (see migrations/versions/0001).

Keys are stored as SHA-256 of namespace and key: fixed size, whatever a client puts in its
`jti`, and the namespace keeps DPoP proofs and assertions apart should two components ever
share one database.

Bounded: a row lives from its claim until SWEEP_GRACE_SECONDS after its `expires_at` (the end
of the credential's acceptance window), plus at most one sweep period: each process deletes
the rows past that point at most every SWEEP_SECONDS, after a claim, in one indexed DELETE. So
the table holds at most (accepted credentials per second) x (their window + 60 s + 10 s) rows
of 40 bytes, e.g. 1000 calls/s x 135 s = 135 000 rows. Until a row is swept its key stays
refused; by then the credential itself is refused by its time check anyway. The grace is
there for clocks: a replica whose clock is behind the sweeper's still accepts a credential
its own clock says is valid, so rows stay while any replica's clock (within 60 s of the
others, far more than NTP allows) may still accept it.

Fail closed: a claim that fails or does not answer within `timeout` (database down, locked,
slow) raises ReplayStoreUnavailable and the credential is refused. The database itself gives
up waiting for a lock after half that time (statement_timeout, SQLite's busy timeout), so a
claim refused for a lock is normally rolled back; one abandoned for a slow connection may still
commit later, which only means a refused credential is used up: clients send a fresh proof per
call anyway, and the gateway signs a fresh assertion per call. Database work runs in a thread,
never on the event loop.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from opentelemetry.trace import TracerProvider
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .db import make_engine
from .db_tuning import DatabaseTuning
from .replay import ReplayStoreUnavailable

log = logging.getLogger(__name__)

# Includes the wait for a worker thread and, on SQLite, for other writers of the same file;
# half the gateway's 10 s backend-call deadline, within which a backend's claim must answer.
CLAIM_TIMEOUT_SECONDS = 5.0
SWEEP_SECONDS = 10.0
SWEEP_GRACE_SECONDS = 60

_metadata = sa.MetaData()
REPLAY_CLAIMS = sa.Table(
    "replay_claims",
    _metadata,
    sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)


class ReplayStore:
    """`ReplayClaims` on the `replay_claims` table of one database (PostgreSQL or SQLite)."""

    def __init__(
        self, engine: sa.Engine, namespace: str, *, timeout: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._namespace = namespace
        self._timeout = timeout or CLAIM_TIMEOUT_SECONDS
        self._database_wait_ms = int(self._timeout * 500)  # half the claim's timeout, in milliseconds
        self._clock = clock
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert = (
            dialect.insert(REPLAY_CLAIMS)
            .on_conflict_do_nothing(index_elements=["key_hash"])
            .returning(REPLAY_CLAIMS.c.key_hash)
        )
        self._sweeping = threading.Lock()
        self._next_sweep = 0.0  # monotonic: a step of the wall clock moves no sweep
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", self._sqlite_busy_timeout)

    @classmethod
    def open(
        cls, url: str, namespace: str, tracer_provider: TracerProvider | None = None, *,
        tuning: DatabaseTuning | None = None, **options: Any
    ) -> ReplayStore:
        """A store with its own engine (its own pool and timeouts) on the database at `url`."""
        return cls(make_engine(url, tracer_provider, tuning), namespace, **options)

    def close(self) -> None:
        self._engine.dispose()

    async def claim(self, key: str, expires_at: float) -> bool:
        digest = hashlib.sha256(f"{self._namespace}\0{key}".encode()).digest()
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.to_thread(self._claim, digest, math.ceil(expires_at))
        except (TimeoutError, SQLAlchemyError) as exc:
            # The class only: a database error's text holds the statement's parameters.
            log.error("replay store unavailable", extra={"error": exc.__class__.__name__})
            raise ReplayStoreUnavailable from None

    def _claim(self, digest: bytes, expires_at: int) -> bool:
        with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Bounded on the server too, so a lock wait cannot hold a pooled connection.
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {self._database_wait_ms}")
            inserted = connection.execute(self._insert.values(key_hash=digest, expires_at=expires_at)).first()
            first = inserted is not None
        self._sweep_if_due()
        return first

    def _sweep_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_SECONDS
            self.sweep()
        except SQLAlchemyError as exc:
            # The claim stands; the rows are removed by the next sweep (of any replica).
            log.warning("replay sweep failed", extra={"error": exc.__class__.__name__})
        finally:
            self._sweeping.release()

    def sweep(self) -> int:
        """Deletes the claims past their window and the grace; returns how many."""
        cutoff = math.floor(self._clock()) - SWEEP_GRACE_SECONDS
        with self._engine.begin() as connection:
            return connection.execute(sa.delete(REPLAY_CLAIMS).where(REPLAY_CLAIMS.c.expires_at < cutoff)).rowcount

    def _sqlite_busy_timeout(self, dbapi_connection: Any, _record: object) -> None:
        # A claim waits for another writer at most half its timeout, not the engine's default 30 s.
        dbapi_connection.execute(f"PRAGMA busy_timeout = {self._database_wait_ms}")
