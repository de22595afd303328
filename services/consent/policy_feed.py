"""The change feed and the lease book of the gateways' decision caches, in the consent
database, so that every consent replica sees every change and every lease (synchronous; the
hub in watch.py runs it off the event loop).

- `policy_changes`: one row per rule change, written by `record` in the change's own
  transaction, so a committed change is in the feed even if its process dies right after the
  commit. Its sequence comes from the one `policy_change_head` row, updated under a lock
  held until commit (a row lock on PostgreSQL, the write lock on SQLite): sequences have no
  gaps and become visible in order, so a follower that has read up to n and reads
  `sequence > n` never misses one that commits later with a smaller number. Rows are kept
  RETENTION_SECONDS, far beyond any lease (each change deletes the older ones): a follower
  that fell further behind than that has long lost its lease, and one that finds a gap ends
  its stream. The head's lock serialises all rule changes from `record` to commit, a few
  milliseconds each: rule changes are rare, and order is what the followers rely on.
- `policy_subscribers`: the lease book. A grant is committed before the heartbeat carrying it
  is sent, so the book always knows at least every lease a cache may hold, whichever replica
  granted it. Times are the database's clock (PostgreSQL's `clock_timestamp()`; with SQLite,
  the clock of the one host its file lives on), read in the granting transaction, which runs
  after the acknowledgement was received and so after the cache sent it: the book's lease
  ends after the cache's. Each subscription deletes the rows whose lease ran out more than
  FORGET_SECONDS ago, so the book holds the live subscribers and at most those of the last
  FORGET_SECONDS besides.

On PostgreSQL every change and every acknowledgement that moves a subscriber on also sends
NOTIFY on CHANNEL within its transaction (delivered at commit; services/platform/pg_notify.py);
replicas LISTEN to wake at once, and poll as well in case a notification is lost with its
connection. SQLite has no
notifications: replicas sharing a file poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from services.platform import pg_notify

from . import lease_book
from .lease_book import Lease
from .models import PolicyChangeHeadRow, PolicyChangeRow, PolicySubscriberRow

LEASE_SECONDS = 2.0
RETENTION_SECONDS = 600.0  # changes are kept 10 minutes: 300 leases
FORGET_SECONDS = 60.0  # subscriber rows go a minute after their lease ran out
BATCH = 500  # changes read at once
CHANNEL = "samhandling_policy_feed"


@dataclass(frozen=True)
class Change:
    sequence: int
    patient_id: str
    policy_revision: int


def record(session: Session, patient_id: str, revision: int) -> int:
    """Appends a change to the feed inside the change's transaction; returns its sequence. Run
    it last in the transaction: the head's lock serialises every change until the commit."""
    sequence = session.execute(
        update(PolicyChangeHeadRow)
        .where(PolicyChangeHeadRow.id == 1)
        .values(sequence=PolicyChangeHeadRow.sequence + 1)
        .returning(PolicyChangeHeadRow.sequence)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    now = database_now(session)
    session.add(PolicyChangeRow(sequence=sequence, patient_id=patient_id, policy_revision=revision, committed_at=now))
    session.execute(delete(PolicyChangeRow).where(PolicyChangeRow.committed_at < now - RETENTION_SECONDS))
    pg_notify.notify(session, CHANNEL)
    return sequence


def database_now(session: Session) -> float:
    """Seconds since the epoch on the database's clock (the host's, for SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT extract(epoch FROM clock_timestamp())::float8"))
    return session.scalar(text("SELECT (julianday('now') - 2440587.5) * 86400.0"))


def _head(session: Session) -> int:
    return session.scalar(select(PolicyChangeHeadRow.sequence).where(PolicyChangeHeadRow.id == 1)) or 0


class PolicyFeed:
    """The feed and the book of one consent database."""

    def __init__(
        self,
        sessions: sessionmaker,
        lease: float = LEASE_SECONDS,
        listen_url: str | None = None,
        password_file: Path | None = None,
    ) -> None:
        """`listen_url`: a direct database URL for LISTEN (behind a transaction pooler);
        default: the sessions' own. `password_file`: the database password's file, if any."""
        self.lease = lease
        self.password_file = password_file
        self._sessions = sessions
        # None: not PostgreSQL, no notifications (replicas poll).
        self.listen_url = pg_notify.listen_url(listen_url or sessions.kw["bind"].url)

    def head(self) -> int:
        """The last sequence committed."""
        with self._sessions() as session:
            return _head(session)

    def changes_after(self, sequence: int, limit: int = BATCH) -> list[Change]:
        query = (
            select(PolicyChangeRow)
            .where(PolicyChangeRow.sequence > sequence)
            .order_by(PolicyChangeRow.sequence)
            .limit(limit)
        )
        with self._sessions() as session:
            return [Change(r.sequence, r.patient_id, r.policy_revision) for r in session.scalars(query)]

    def subscribe(self, subscriber_id: str, replica_id: str, name: str) -> Lease:
        """Enters a subscriber with its first lease (forgetting long lapsed ones, which bounds the book)."""
        with self._sessions.begin() as session:
            now = database_now(session)
            # A write first, so SQLite takes its write lock before any read.
            session.execute(delete(PolicySubscriberRow).where(PolicySubscriberRow.granted_until < now - FORGET_SECONDS))
            lease = lease_book.subscribed(_head(session), now, self.lease)
            session.add(
                PolicySubscriberRow(
                    subscriber_id=subscriber_id,
                    replica_id=replica_id,
                    name=name,
                    since=lease.since,
                    acknowledged=lease.acknowledged,
                    granted_until=lease.granted_until,
                )
            )
            return lease

    def renew(self, subscriber_id: str, acknowledged: int, sent: int) -> float | None:
        """Records an acknowledgement and commits the renewal it earns; returns the heartbeat's
        lease (0: none), or None if the book no longer has the subscriber."""
        with self._sessions.begin() as session:
            # A write first, so SQLite takes its write lock before any read.
            touched = session.execute(
                update(PolicySubscriberRow)
                .where(PolicySubscriberRow.subscriber_id == subscriber_id)
                .values(acknowledged=PolicySubscriberRow.acknowledged)
                .execution_options(synchronize_session=False)
            ).rowcount
            row = session.get(PolicySubscriberRow, subscriber_id) if touched else None
            if row is None:
                return None
            before = Lease(row.since, row.acknowledged, row.granted_until)
            renewal = lease_book.renew(before, acknowledged, sent, _head(session), database_now(session), self.lease)
            row.acknowledged, row.granted_until = renewal.lease.acknowledged, renewal.lease.granted_until
            if renewal.lease.acknowledged > before.acknowledged:
                pg_notify.notify(session, CHANNEL)  # publishers waiting for it re-check
            return renewal.granted

    def pending(self, sequence: int) -> float | None:
        """lease_book.pending over every replica's subscribers, on the database's clock."""
        with self._sessions() as session:
            now = database_now(session)
            rows = session.execute(
                select(
                    PolicySubscriberRow.since, PolicySubscriberRow.acknowledged, PolicySubscriberRow.granted_until
                ).where(
                    PolicySubscriberRow.since < sequence,
                    PolicySubscriberRow.acknowledged < sequence,
                    PolicySubscriberRow.granted_until > now,
                )
            ).all()
            return lease_book.pending((Lease(*row) for row in rows), sequence, now)

    def lease_of(self, subscriber_id: str) -> tuple[Lease, float] | None:
        """A subscriber's row and the database's time now (for tests and diagnostics)."""
        with self._sessions() as session:
            row = session.get(PolicySubscriberRow, subscriber_id)
            return (
                None if row is None else (Lease(row.since, row.acknowledged, row.granted_until), database_now(session))
            )
