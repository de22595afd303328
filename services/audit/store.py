"""Audit log storage (synchronous; the api runs it off the event loop).

Durability comes from services.platform.db (SQLite WAL + synchronous=FULL, PostgreSQL
synchronous_commit on): `append` returns only after its batch is committed.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .events import AuditRecord
from .models import AuditEventRow, LogHeadRow
from .scope import ReadScope


class AuditStore:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessions
        self._clock = clock

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEventRow]:
        """Stores validated records in one transaction; a record whose idempotency key is already
        stored (or repeated in the batch) is not stored again. Returns the stored rows in
        request order."""
        try:
            return self._append(records)
        except IntegrityError:
            # Appenders are serialised by the head lock, so a concurrent retry normally just finds
            # its key stored; should a unique key still collide, the re-run re-reads the winner.
            return self._append(records)

    def _append(self, records: Sequence[AuditRecord]) -> list[AuditEventRow]:
        stored_at = self._clock()
        with self._sessions.begin() as session:
            size = _lock_head(session)
            keys = {r.idempotency_key for r in records}
            stored = {
                row.idempotency_key: row
                for row in session.scalars(select(AuditEventRow).where(AuditEventRow.idempotency_key.in_(keys)))
            }
            for record in records:
                if record.idempotency_key in stored:
                    continue
                size += 1
                row = AuditEventRow(sequence=size, event_id=uuid.uuid4(), stored_at=stored_at, **_columns(record))
                session.add(row)
                stored[record.idempotency_key] = row
            session.execute(update(LogHeadRow).where(LogHeadRow.id == 1).values(size=size))
        return [stored[r.idempotency_key] for r in records]

    def list_events(self, scope: ReadScope, limit: int, below_sequence: int | None = None) -> list[AuditEventRow]:
        """Events in scope, newest first, at most `limit`, optionally only older than a sequence."""
        query = select(AuditEventRow).where(AuditEventRow.patient_id == scope.patient_id)
        if scope.actor_orgnr_parent is not None:
            query = query.where(AuditEventRow.actor_orgnr_parent == scope.actor_orgnr_parent)
        if below_sequence is not None:
            query = query.where(AuditEventRow.sequence < below_sequence)
        with self._sessions() as session:
            return list(session.scalars(query.order_by(AuditEventRow.sequence.desc()).limit(limit)))


def _lock_head(session: Session) -> int:
    """Takes the log's write lock (a row lock on PostgreSQL, the database write lock on SQLite)
    for the rest of the transaction, and returns the log's size."""
    session.execute(update(LogHeadRow).where(LogHeadRow.id == 1).values(size=LogHeadRow.size))
    size = session.scalar(select(LogHeadRow.size).where(LogHeadRow.id == 1))
    if size is None:
        raise RuntimeError("audit log head row is missing; run the audit migrations")
    return size


def _columns(record: AuditRecord) -> dict[str, object]:
    # Domain enums are stored by name, so the log reads the same whatever the proto numbers.
    return {name: v.value if isinstance(v, Enum) else v for name, v in asdict(record).items()}
