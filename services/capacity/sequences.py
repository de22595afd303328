"""Positions of the change sequences, handed out in commit order.

An autoincrement id is not enough: on PostgreSQL a transaction may take id 7, another id 8
and commit first, and a watcher that has read 8 would skip 7 for good. So a writer first
takes the sequence's head row with an UPDATE, which holds the row lock (PostgreSQL) or the
database write lock (SQLite) until its commit; the next writer takes the head only after
that commit, and gets the next position. Positions thus become visible strictly in order,
across processes and replicas too: whoever sees position n sees every position below it.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import SequenceRow

CAPACITY = "capacity"
ALERTS = "alerts"


def lock(session: Session, name: str) -> int:
    """Takes the sequence's write lock for the rest of the transaction; returns its head.
    Run it first in the transaction, so that SQLite takes the write lock before any read."""
    session.execute(update(SequenceRow).where(SequenceRow.name == name).values(position=SequenceRow.position))
    return head(session, name)


def advance(session: Session, name: str, position: int) -> None:
    """Moves the head to `position` (under the lock taken by `lock`)."""
    session.execute(update(SequenceRow).where(SequenceRow.name == name).values(position=position))


def head(session: Session, name: str) -> int:
    """The last position handed out and committed (as far as this session sees)."""
    position = session.scalar(select(SequenceRow.position).where(SequenceRow.name == name))
    if position is None:
        raise RuntimeError(f"sequence {name!r} is missing; run the capacity migrations")
    return position
