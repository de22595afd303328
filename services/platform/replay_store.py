"""The replay store: single-use ids shared by every replica of a component, in its database.

A claim is one row inserted with

    INSERT INTO replay_claims (key_hash, expires_at) VALUES (...), ... ON CONFLICT DO NOTHING RETURNING key_hash

and the rows it returns are the answer: a key returned, its first use; not returned, a replay
(RETURNING, not the driver's row count, which psycopg does not report for this statement). The
primary key makes this exact under any concurrency: on PostgreSQL a second replica inserting the
same key waits for the first one's transaction and then finds the conflict (or inserts, if the
first rolled back); SQLite serialises writers. The claim is committed before the credential is
accepted. The table is logged, not UNLOGGED (see migrations/versions/0001).

Group commit: the claims a process makes while its previous transaction is still running are
inserted together, in one transaction of at most MAX_BATCH keys (sorted, so two replicas' batches
always lock rows in the same order and cannot deadlock); each caller waits for the commit of
the transaction that holds its key, so a batch is exactly as safe as single claims, and at one
claim in flight nothing waits for company. A key twice in one batch: the first caller gets the
answer, every other one a replay.

How durable the commit is, is the store's setting (`synchronous_commit`): True (the gateway's
DPoP proofs) waits for the disk (PostgreSQL synchronous_commit=on, SQLite synchronous=FULL);
False (the backends' internal assertions) does not wait for the flush (PostgreSQL
`synchronous_commit = off` for this transaction only; SQLite synchronous=NORMAL on the store's
own connections in WAL mode): the claim survives any crash of the process and is visible to
every replica at once; only a crash of the PostgreSQL server (its last ≤ 600 ms of claims) or of
the machine can lose it. docs/internal-assertion.md argues why that is enough for a credential
of 35 seconds that only the gateway holds.

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
import functools
import hashlib
import logging
import math
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from opentelemetry.trace import TracerProvider
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from .db import make_engine
from .db_tuning import DatabaseTuning
from .replay import ReplayStoreUnavailable
from .sweep_schedule import SweepSchedule

log = logging.getLogger(__name__)

# Includes the wait for a worker thread and, on SQLite, for other writers of the same file;
# half the gateway's 10 s backend-call deadline, within which a backend's claim must answer.
CLAIM_TIMEOUT_SECONDS = 5.0
SWEEP_SECONDS = 10.0
SWEEP_GRACE_SECONDS = 60
# The most claims one transaction carries; the rest wait for the next one.
MAX_BATCH = 256

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
        self,
        engine: sa.Engine,
        namespace: str,
        *,
        timeout: float | None = None,
        clock: Callable[[], float] = time.time,
        synchronous_commit: bool = True,
    ) -> None:
        """`synchronous_commit` False: a claim's commit does not wait for the disk (see above);
        on SQLite it sets synchronous=NORMAL on `engine`'s connections, so give it an engine of
        its own (`open`)."""
        self._engine = engine
        self._namespace = namespace
        self._timeout = timeout or CLAIM_TIMEOUT_SECONDS
        self._database_wait_ms = int(self._timeout * 500)  # half the claim's timeout, in milliseconds
        self._clock = clock
        # Bounded on the server too, so a lock wait cannot hold a pooled connection; and, unless
        # the store is synchronous, this transaction's commit does not wait for the WAL flush.
        # Values are typed numbers and constants, never a request's.
        settings = [f"set_config('statement_timeout', '{self._database_wait_ms}', true)"]
        if not synchronous_commit:
            settings.append("set_config('synchronous_commit', 'off', true)")
        self._transaction_settings = f"SELECT {', '.join(settings)}"
        self._synchronous_commit = synchronous_commit
        self._sweeps = SweepSchedule(SWEEP_SECONDS)
        self._sweep_tasks: set[asyncio.Future[None]] = set()  # sweep_soon's, held until they end
        # One group commit per event loop (a server runs one; tests may run several in turn).
        self._batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = weakref.WeakKeyDictionary()
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", self._sqlite_connection)

    @classmethod
    def open(
        cls,
        url: str,
        namespace: str,
        tracer_provider: TracerProvider | None = None,
        *,
        tuning: DatabaseTuning | None = None,
        **options: Any,
    ) -> ReplayStore:
        """A store with its own engine (its own pool and timeouts) on the database at `url`."""
        return cls(make_engine(url, tracer_provider, tuning), namespace, **options)

    def close(self) -> None:
        self._engine.dispose()

    def ticket(self, key: str, expires_at: float) -> ReplayTicket:
        """The row that claims `key`, for a caller that inserts it in a transaction of its own
        (`claim_tickets`, then `sweep_soon`); `claim` inserts the same row."""
        return ReplayTicket(hashlib.sha256(f"{self._namespace}\0{key}".encode()).digest(), math.ceil(expires_at))

    async def claim(self, key: str, expires_at: float) -> bool:
        ticket = self.ticket(key, expires_at)
        loop = asyncio.get_running_loop()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = _GroupCommit(self._claim_many)
        try:
            async with asyncio.timeout(self._timeout):
                return await batch.claim(ticket.digest, ticket.expires_at)
        except (TimeoutError, SQLAlchemyError) as exc:
            # The class only: a database error's text holds the statement's parameters.
            log.error("replay store unavailable", extra={"error": exc.__class__.__name__})
            raise ReplayStoreUnavailable from None

    def _claim_many(self, claims: Sequence[tuple[bytes, int]]) -> set[bytes]:
        """Inserts the keys in one transaction; returns those inserted (first uses)."""
        with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(self._transaction_settings)
            inserted = claim_tickets(connection, [ReplayTicket(digest, expires) for digest, expires in claims])
        self._sweep_if_due()
        return inserted

    def sweep_soon(self) -> None:
        """After claims committed by `claim_tickets` in another transaction: the sweep, if it is
        due, in a worker thread of the running event loop (nothing waits for it)."""
        if self._sweeps.due():
            task = asyncio.ensure_future(asyncio.to_thread(self._sweep_if_due))
            self._sweep_tasks.add(task)
            task.add_done_callback(self._sweep_tasks.discard)

    def _sweep_if_due(self) -> None:
        self._sweeps.run_if_due(self._sweep_or_log)

    def _sweep_or_log(self) -> None:
        try:
            self.sweep()
        except SQLAlchemyError as exc:
            # The claim stands; the rows are removed by the next sweep (of any replica).
            log.warning("replay sweep failed", extra={"error": exc.__class__.__name__})

    def sweep(self) -> int:
        """Deletes the claims past their window and the grace; returns how many."""
        cutoff = math.floor(self._clock()) - SWEEP_GRACE_SECONDS
        with self._engine.begin() as connection:
            return connection.execute(sa.delete(REPLAY_CLAIMS).where(REPLAY_CLAIMS.c.expires_at < cutoff)).rowcount

    def _sqlite_connection(self, dbapi_connection: Any, _record: object) -> None:
        # A claim waits for another writer at most half its timeout, not the engine's default 30 s.
        dbapi_connection.execute(f"PRAGMA busy_timeout = {self._database_wait_ms}")
        if not self._synchronous_commit:
            # After make_engine's pragmas (WAL, FULL): commits reach the WAL file, not the disk.
            dbapi_connection.execute("PRAGMA synchronous = NORMAL")


@dataclass(frozen=True)
class ReplayTicket:
    """The row that claims one key: SHA-256 of namespace and key, and until when it stays."""

    digest: bytes
    expires_at: int


def claim_tickets(connection: sa.Connection, tickets: Sequence[ReplayTicket]) -> set[bytes]:
    """Inserts the tickets' rows in the connection's transaction (its commit makes the claims);
    returns the digests inserted (first uses). Rows go in sorted, so two transactions claiming
    the same keys lock them in the same order and cannot deadlock; a key twice is inserted once."""
    if not tickets:
        return set()
    expiry: dict[bytes, int] = {}
    for ticket in tickets:
        expiry.setdefault(ticket.digest, ticket.expires_at)
    parameters = tuple(value for digest in sorted(expiry) for value in (digest, expiry[digest]))
    statement = claim_sql(connection.dialect.name, len(expiry))
    return {bytes(key) for (key,) in connection.exec_driver_sql(statement, parameters)}


@functools.lru_cache(maxsize=2 * MAX_BATCH)
def claim_sql(dialect: str, rows: int) -> str:
    """INSERT of `rows` claims that returns the keys it inserted, in the driver's own placeholder:
    written once per batch size, not compiled per claim (SQLAlchemy does not cache an ON CONFLICT
    insert's compilation)."""
    placeholder = "%s" if dialect == "postgresql" else "?"
    values = ", ".join([f"({placeholder}, {placeholder})"] * rows)
    return (
        f"INSERT INTO {REPLAY_CLAIMS.name} (key_hash, expires_at) VALUES {values} "
        "ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash"
    )


class _GroupCommit:
    """Claims of one event loop, committed together: one transaction runs at a time (in a
    worker thread), and the claims that arrive meanwhile go into the next one."""

    def __init__(self, run: Callable[[Sequence[tuple[bytes, int]]], set[bytes]]) -> None:
        self._run = run
        self._queue: list[tuple[bytes, int, asyncio.Future[bool]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def claim(self, digest: bytes, expires_at: int) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((digest, expires_at, answer))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    inserted = await asyncio.to_thread(self._run, [(digest, expires) for digest, expires, _ in batch])
                except Exception as exc:  # every caller of the batch gets it (claim turns it into a refusal)
                    for _, _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                answered: set[bytes] = set()
                for digest, _, answer in batch:
                    first = digest in inserted and digest not in answered
                    answered.add(digest)
                    if not answer.done():  # a caller that gave up (timeout) is not answered
                        answer.set_result(first)
        finally:
            self._draining = None
