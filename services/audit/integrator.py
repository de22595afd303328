"""The log's integrator: one leader at a time adds the committed events to the Merkle tree (its
interior nodes) and signs the checkpoint of the new tree.

Every audit replica runs `Integrator`, a thread; only the leader works. On PostgreSQL the leader
is the replica holding a session advisory lock (pg_try_advisory_lock) on a connection of its own
(an engine of its own on the session URL, never through a transaction pooler: leader_engine.py),
and it integrates on that very connection: should it lose the connection, it loses the lock and
any integration in flight with it, and another replica takes the lock on its next try (within
FOLLOWER_RETRY_SECONDS). A replica killed with SIGKILL releases it the same way: PostgreSQL ends
the session. On SQLite the database's single write lock plays the part: each step is one write
transaction, so steps of several processes on one file follow each other.

A step (`integrate`) never signs a checkpoint that does not extend the last one, by roots, not
sizes: in its transaction it reads the latest stored checkpoint and checks that its note verifies
with the log's key and states the row's size and root; it continues from the frontier it cached
only if that frontier is of this very checkpoint (size and root), and otherwise rebuilds it from
the stored nodes and requires its root to be the signed one. The new leaves are appended to that
frontier, so the new tree extends the signed one by construction. It integrates only the
contiguous run of committed sequences after the checkpoint (an append holds the log's lock until
its commit, so committed sequences are a prefix anyway; a gap would stop the step, never be
skipped). The nodes and the checkpoint are written in one transaction: the latest checkpoint's
size is the integrated size, and a crash loses nothing but the step in flight.

The leader steps as soon as an append of its own process commits (`wake`), but at most once per
MIN_STEP_SECONDS (a step is a commit too), and otherwise polls every LEADER_POLL_SECONDS. A
follower tries for the lock every FOLLOWER_RETRY_SECONDS; its own appends do not wake it (while a
leader lives, each such try is wasted work on a busy replica). So a checkpoint covers an acknowledged event at most about LEADER_POLL_SECONDS after its commit, and
about FOLLOWER_RETRY_SECONDS + LEADER_POLL_SECONDS after a leader's death.
A step takes at most MAX_LEAVES_PER_STEP events; the leader steps again at once while more wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Row, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from .checkpoints import NoteError
from .merkle import Frontier, MerkleError
from .models import AuditEventRow, CheckpointRow, LogHeadRow, NodeRow
from .signer import LogSigner
from .tree_store import StoredNodes, node_rows

log = logging.getLogger(__name__)

MAX_LEAVES_PER_STEP = 10_000
LEADER_POLL_SECONDS = 0.2
# Under load a step every LEADER_POLL_SECONDS, not more often: on SQLite each step holds the
# database's write lock through its commit, so every extra step is appends waiting and one more
# WAL flush (with 0.05 s the audit process spent about 15-20 % more CPU per event at 100 writers,
# in an A/B on a shared machine: bench/README.md section 4).
MIN_STEP_SECONDS = LEADER_POLL_SECONDS
FOLLOWER_RETRY_SECONDS = 0.5
# The advisory lock's key: one bigint, fixed for this log (the audit database holds one log, and
# nothing else in it takes advisory locks).
LEADER_LOCK_KEY = 0x5341_4D41_5544_4954  # "SAMAUDIT" in ASCII


class RefusedToSign(RuntimeError):
    """The stored log does not extend its latest signed checkpoint: nothing more is signed."""


@dataclass(frozen=True)
class Step:
    """What one step did: the frontier of the tree now checkpointed, and how many leaves it added."""

    frontier: Frontier | None  # None when nothing was to be done and no frontier was cached
    added: int


def integrate(
    connection: Connection,
    signer: LogSigner,
    cached: Frontier | None,
    now: datetime,
    limit: int = MAX_LEAVES_PER_STEP,
) -> Step:
    """One step, in one transaction on `connection`: the committed events after the latest
    checkpoint (at most `limit`) are added to the tree, and the new tree's checkpoint signed.
    RefusedToSign when the stored log does not extend the latest checkpoint. Nothing is
    written (not even on SQLite, where the step's transaction starts with a write) when the
    latest checkpoint already covers the log."""
    if not _behind(connection):
        return Step(cached, 0)
    with connection.begin():
        if connection.dialect.name == "sqlite":  # write first: see store._reserve
            connection.execute(update(LogHeadRow).where(LogHeadRow.id == 1).values(size=LogHeadRow.size))
        latest = connection.execute(
            select(CheckpointRow.size, CheckpointRow.root, CheckpointRow.note)
            .order_by(CheckpointRow.size.desc())
            .limit(1)
        ).first()
        size = latest.size if latest is not None else 0
        leaves = _contiguous_leaves(connection, size, limit)
        before = _signed_frontier(connection, signer, latest, cached)
        if not leaves:
            return Step(before, 0)
        after, nodes = before, []
        for leaf in leaves:
            after, completed = after.append(leaf)
            nodes += completed
        if rows := node_rows(nodes):
            connection.execute(insert(NodeRow), rows)
        root = after.root()
        note = signer.sign(after.size, root)
        connection.execute(insert(CheckpointRow).values(size=after.size, root=root, note=note, signed_at=now))
    return Step(after, len(leaves))


def _behind(connection: Connection) -> bool:
    """Whether the log holds events the latest checkpoint does not cover (a read, then ended)."""
    signed = select(func.coalesce(func.max(CheckpointRow.size), 0)).scalar_subquery()
    behind = connection.scalar(select(LogHeadRow.size > signed).where(LogHeadRow.id == 1))
    connection.rollback()
    return bool(behind)


def _contiguous_leaves(connection: Connection, size: int, limit: int) -> list[bytes]:
    """The leaf hashes of sequences size + 1, size + 2, ... as far as they run without a gap."""
    leaves: list[bytes] = []
    query = (
        select(AuditEventRow.sequence, AuditEventRow.leaf_hash)
        .where(AuditEventRow.sequence > size, AuditEventRow.sequence <= size + limit)
        .order_by(AuditEventRow.sequence)
    )
    for sequence, leaf in connection.execute(query):
        if sequence != size + len(leaves) + 1:
            break
        leaves.append(bytes(leaf))
    return leaves


def _signed_frontier(
    connection: Connection, signer: LogSigner, latest: Row[tuple[int, bytes, str]] | None, cached: Frontier | None
) -> Frontier:
    """The frontier of the latest signed checkpoint's tree: `cached` if it is that very tree
    (size and root), else rebuilt from the stored nodes; RefusedToSign unless the checkpoint's
    note verifies, states its row's size and root, and the frontier's root is that root."""
    if latest is None:
        return Frontier.empty()
    size, root = latest.size, bytes(latest.root)
    try:
        signed = signer.open(latest.note)
    except NoteError as exc:
        raise RefusedToSign(f"the latest stored checkpoint does not verify with the log's key: {exc}") from None
    if (signed.size, signed.root) != (size, root):
        raise RefusedToSign("the latest checkpoint row differs from its signed note")
    if cached is not None and cached.size == size and cached.root() == root:
        return cached
    try:
        frontier = Frontier.from_source(size, StoredNodes(connection))
    except MerkleError as exc:
        raise RefusedToSign(f"the stored tree of the latest checkpoint is incomplete: {exc}") from None
    if frontier.root() != root:
        raise RefusedToSign("the stored tree's root at the signed size is not the signed root")
    return frontier


class Integrator:
    """The integrator loop of one replica, on its own thread: tries to lead, and steps while it does."""

    def __init__(self, engine: Engine, signer: LogSigner, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._engine = engine
        self._signer = signer
        self._clock = clock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None  # the leader's connection (and lock), else None
        self._frontier: Frontier | None = None
        self._refusal: str | None = None  # the last refusal logged, so it is logged once, not every poll

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-integrator", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was appended: step now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Ends the loop and gives up leadership (the lock goes with the connection)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def leading(self) -> bool:
        return self._connection is not None

    def step(self) -> int:
        """One try: takes leadership if free, and if leading, integrates what waits. Returns the
        number of events added to the tree (0 when not leading or nothing waits)."""
        try:
            if self._connection is None and not self._lead():
                return 0
            assert self._connection is not None
            step = integrate(self._connection, self._signer, self._frontier, self._clock())
        except RefusedToSign as exc:
            if str(exc) != self._refusal:
                log.critical("audit log: refusing to sign a checkpoint: %s", exc)
                self._refusal = str(exc)
            self._frontier = None
            return 0
        except SQLAlchemyError as exc:
            # The class only: a database error's text can hold SQL parameters.
            log.warning("audit integrator: database error %s; leadership given up", type(exc).__name__)
            self.resign()
            return 0
        except Exception as exc:  # anything else: the loop must go on, or nothing is ever signed again
            log.error("audit integrator: step failed with %s; leadership given up", type(exc).__name__)
            self.resign()
            return 0
        self._frontier, self._refusal = step.frontier, None
        return step.added

    def _run(self) -> None:
        while not self._stopping.is_set():
            added = self.step()
            if added >= MAX_LEAVES_PER_STEP:
                continue  # more wait
            if added:
                # Steps are transactions with a commit (a WAL flush) of their own: under load, at
                # most one per MIN_STEP_SECONDS, each taking all that was committed meanwhile.
                self._stopping.wait(MIN_STEP_SECONDS)
            if self.leading:
                self._wake.wait(LEADER_POLL_SECONDS)
                self._wake.clear()
            else:
                # A follower's own appends do not wake it: each wake would be one more try for the
                # lock (a pool checkout, a query and a commit) per append batch, measured at a fifth
                # of a busy follower's time, while the leader is alive. It retries on its clock.
                self._stopping.wait(FOLLOWER_RETRY_SECONDS)
        self.resign()

    def _lead(self) -> bool:
        """Takes leadership if no other replica holds it. A new leader trusts no frontier it cached
        before: another leader may have signed since."""
        connection = self._engine.connect()
        try:
            if connection.dialect.name == "postgresql":
                held = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY})
                connection.commit()  # the lock is the session's: it outlives this transaction
                if not held:
                    connection.close()
                    return False
                log.info("audit integrator: this replica leads")
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        self._connection, self._frontier = connection, None
        return True

    def resign(self) -> None:
        """Gives up leadership, if held (the loop does so when it stops or its database fails)."""
        connection, self._connection, self._frontier = self._connection, None, None
        if connection is None:
            return
        try:
            if connection.dialect.name == "postgresql":
                # Released here, before the answer: a closed session's lock is freed only when its
                # server process has noticed the close, so a follower trying at once could miss it.
                connection.rollback()
                connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
        except SQLAlchemyError:
            pass  # a dead session: the server frees its lock as it ends it
        try:
            # Closing returns the connection to the pool with the session's lock still held;
            # invalidating closes the session itself, and the lock with it.
            connection.invalidate()
            connection.close()
        except SQLAlchemyError:
            pass
