"""Positions of the change sequences, handed out in commit order.

An autoincrement id is not enough: on PostgreSQL a transaction may take id 7, another id 8
and commit first, and a watcher that has read 8 would skip 7 for good. So a writer first
takes the sequence's head row with an UPDATE, which holds the row lock (PostgreSQL) or the
database write lock (SQLite) until its commit; the next writer takes the head only after
that commit, and gets the next position. Positions thus become visible strictly in order,
across processes and replicas too: whoever sees position n sees every position below it.

The transaction that advances a head also sends NOTIFY on CHANNEL with the sequence's name
(PostgreSQL only; delivered at its commit, so a replica woken by it reads the new head), which
wakes other replicas' watchers at once (wakeups.py).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.platform import pg_notify

from .models import SequenceRow

CAPACITY = "capacity"
ALERTS = "alerts"
NAMES = (CAPACITY, ALERTS)
CHANNEL = "samhandling_capacity"  # NOTIFY payload: the name of the sequence that moved


def lock(session: Session, name: str) -> int:
    """Takes the sequence's write lock for the rest of the transaction; returns its head.
    Run it first in the transaction, so that SQLite takes the write lock before any read."""
    session.execute(update(SequenceRow).where(SequenceRow.name == name).values(position=SequenceRow.position))
    return head(session, name)


def advance(session: Session, name: str, position: int) -> None:
    """Moves the head to `position` (under the lock taken by `lock`), and notifies the other
    replicas at commit."""
    session.execute(update(SequenceRow).where(SequenceRow.name == name).values(position=position))
    pg_notify.notify(session, CHANNEL, name)


def head(session: Session, name: str) -> int:
    """The last position handed out and committed (as far as this session sees)."""
    position = session.scalar(select(SequenceRow.position).where(SequenceRow.name == name))
    if position is None:
        raise RuntimeError(f"sequence {name!r} is missing; run the capacity migrations")
    return position
