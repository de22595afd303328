"""Audit log storage (synchronous; the api runs it off the event loop).

Durability comes from services.platform.db (SQLite WAL + synchronous=FULL, PostgreSQL
synchronous_commit on): `append` returns only after its batch is committed, and a committed event
is sequenced: its sequence is final and every smaller one is committed too.

An append keeps the log's lock as briefly as it can. Before it: the idempotency lookup, the event
ids, the columns and each event's canonical leaf up to its sequence (leaves.LeafTemplate, version
2: its commitment salts are drawn there and stored in the event's row). Under
it: one UPDATE of the head row reserving the batch's sequences, one multi-row INSERT of the
events (each with its leaf hash, the template with its sequence spliced in), and the commit. The
lock is the head row's (the database's write lock on SQLite), held until the commit, so sequences
are dense and follow commit order: a reader that sees sequence n sees every sequence below it,
and nothing that commits later can take a smaller number. (A database sequence gives neither on
PostgreSQL: values are taken before commit and lost on rollback.)

An append may carry the replay claims of the calls it stores (`AppendCall.claim`: the internal
assertion's single use, services.platform.interceptors.handler_claim). They are inserted first in
the append's transaction, before the log's lock, sorted (as every claim is), so they commit with
the events or not at all; the events of a call whose claim is refused (a replay) are not stored,
and the other calls of the batch are. The idempotency lookup then follows in the same
transaction (the claims were its first write, see _reserve), so a batch with claims is one
transaction where it was three (the lookup's, the append's, the claims'). On SQLite the claims'
insert already takes the database's write lock, so there the lookup and the leaves are built
under it too (SQLite has one writer at a time anyway).

On PostgreSQL the common append (every claim new, no record stored before: a gateway resends a
call only after UNAVAILABLE or a deadline) skips the lookup and goes in psycopg pipelines: the
claims and the reservation of every record's sequence in one round trip, the insert and the
commit in another, after the pool's liveness check: three round trips where the careful way takes
seven. A wrong guess stores nothing (a refused claim rolls the transaction back; a key stored
before makes the unique index refuse the insert, which rolls back the claims and the reservation
with it), and the careful way then runs, lookup first.

The Merkle tree's interior nodes and the signed checkpoints are not written here: one leader at a
time integrates the committed events and signs (services.audit.integrator), about a second behind
at most. The reads that need the tree are therefore bounded by the latest checkpoint.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import psycopg
from sqlalchemy import ColumnElement, Connection, Engine, RowMapping, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from services.platform.replay_store import ReplayTicket, claim_sql, claim_tickets
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse

from . import merkle
from .checkpoints import SignedCheckpoint
from .event_proof import EventProof
from .events import Action, AuditRecord, StoredEvent
from .leaves import LeafTemplate, Salts, leaf_bytes
from .models import AuditEventRow, CheckpointRow, LogHeadRow
from .read_scope import LeafScope, ReadScope
from .search import EventQuery, LogFilter
from .tree_store import StoredNodes

log = logging.getLogger(__name__)

# A batch whose idempotency key another replica stored between the lookup and the insert is
# refused by the unique index and rolled back whole; the next attempt finds the stored event.
APPEND_ATTEMPTS = 3
NO_FILTER = LogFilter()
_EVENTS = AuditEventRow.metadata.tables[AuditEventRow.__tablename__]  # __table__, typed as the Table it is
_HEAD = LogHeadRow.metadata.tables[LogHeadRow.__tablename__]
# The append's three statements, built once and in Core (no ORM statement handling per batch):
# the idempotency lookup, the reservation of the batch's sequences, and the insert of its events.
_LOOKUP = select(_EVENTS).where(_EVENTS.c.idempotency_key.in_(bindparam("keys", expanding=True)))
_RESERVE = update(_HEAD).where(_HEAD.c.id == 1).values(size=_HEAD.c.size + bindparam("count")).returning(_HEAD.c.size)
_INSERT = insert(_EVENTS)
_RESERVE_SQL = f"UPDATE {_HEAD.name} SET size = size + %s WHERE id = 1 RETURNING size"


class _GuessedWrong(Exception):
    """The pipelined append's guess (every claim new) was wrong: its transaction is rolled back."""


# An event about to be stored: its columns, its leaf up to its sequence, and its record.
_Pending = tuple[dict[str, object], LeafTemplate, AuditRecord]


@dataclass(frozen=True)
class AppendCall:
    """One call's records and the claim of its assertion (None: claimed already)."""

    records: Sequence[AuditRecord]
    claim: ReplayTicket | None = None


class AuditStore:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessions
        self._clock = clock

    @property
    def engine(self) -> Engine:
        """The engine the store's sessions use (appends and the integrator use its connections)."""
        bind = self._sessions.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    def checkpoint_lag(self) -> tuple[int, float]:
        """How many committed events the latest signed checkpoint does not cover yet, and how long
        the oldest of them has waited in seconds (0 and 0.0 when it covers the log). One read."""
        with self.engine.connect() as connection:
            signed = select(func.coalesce(func.max(CheckpointRow.size), 0)).scalar_subquery()
            row = connection.execute(
                select(
                    LogHeadRow.size,
                    signed,
                    select(AuditEventRow.stored_at).where(AuditEventRow.sequence == signed + 1).scalar_subquery(),
                ).where(LogHeadRow.id == 1)
            ).first()
        if row is None or row[0] <= row[1]:
            return 0, 0.0
        head, size, oldest = row
        waited = (self._clock() - oldest.replace(tzinfo=oldest.tzinfo or UTC)).total_seconds() if oldest else 0.0
        return head - size, max(0.0, waited)

    def append(self, records: Sequence[AuditRecord]) -> list[StoredEvent]:
        """Stores validated records in one transaction; a record whose idempotency key is already
        stored (or repeated in the batch) is not stored again. Returns the stored events in request
        order, once they are committed (an event stored now holds the appended record itself: no
        ORM instance or row object is built for it, which was a third of a large batch's CPU)."""
        stored = self.append_calls([AppendCall(records)])[0]
        assert stored is not None  # no claim, so never refused
        return stored

    def append_calls(self, calls: Sequence[AppendCall]) -> list[list[StoredEvent] | None]:
        """`append` of several calls' records in one transaction, with their claims: per call, its
        stored events, or None when its claim was refused (none of its records stored by it)."""
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                return self._append(calls)
            except IntegrityError:
                if attempt == APPEND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _append(self, calls: Sequence[AppendCall]) -> list[list[StoredEvent] | None]:
        if self.engine.dialect.name == "postgresql" and not _repeated_claims(calls):
            guessed = self._append_pipelined(calls)
            if guessed is not None:
                return guessed
        keys = list(dict.fromkeys(r.idempotency_key for call in calls for r in call.records))
        claims = [call.claim for call in calls if call.claim is not None]
        refused: set[int] = set()
        with self.engine.connect() as connection:  # one connection for the lookup and the write
            if claims:
                # One transaction: the claims are its first write (see _reserve), so the lookup
                # may follow inside it; the log's lock is taken only after both.
                with connection.begin():
                    inserted = claim_tickets(connection, claims)
                    refused = {i for i, call in enumerate(calls) if call.claim and call.claim.digest not in inserted}
                    # One ticket twice in the batch: the first call has it, every other one is a replay.
                    refused |= _repeated_claims(calls)
                    stored = _lookup(connection, keys)
                    pending = self._pending(calls, refused, stored)
                    first = _write(connection, pending) if pending else 0
            else:
                stored = _lookup(connection, keys)
                connection.rollback()  # the lookup's transaction ends here: see _reserve
                pending = self._pending(calls, refused, stored)
                if pending:
                    with connection.begin():
                        first = _write(connection, pending)
        if pending:
            stored |= _stored(pending, first)
        return [
            None if i in refused else [stored[r.idempotency_key] for r in call.records] for i, call in enumerate(calls)
        ]

    def _append_pipelined(self, calls: Sequence[AppendCall]) -> list[list[StoredEvent] | None] | None:
        """The common case on PostgreSQL in three round trips where `_append` takes seven: every
        claim new and no record stored before (a gateway resends only after UNAVAILABLE or a
        deadline). The claims and the reservation of every record's sequence go in one pipeline
        (the reservation, taking the log's lock, last), the events' insert and the commit in
        another. None, with nothing stored, when the guess was wrong (a claim refused: a replay;
        a key already stored: the unique index refuses the insert): `_append` then does it the
        careful way, with the lookup."""
        pending = self._pending(calls, set(), {})
        claims = [call.claim for call in calls if call.claim is not None]
        if not pending:
            return None
        try:
            with self.engine.connect() as connection:
                try:
                    with connection.begin():
                        driver = connection.connection.driver_connection
                        assert isinstance(driver, psycopg.Connection)
                        with driver.pipeline():
                            claimed = _pipelined_claims(driver, claims)
                            reserved = driver.execute(_RESERVE_SQL, (len(pending),))
                            inserted = {bytes(k) for (k,) in claimed.fetchall()} if claimed is not None else set()
                            size = reserved.fetchone()
                        if len(inserted) != len(claims):
                            raise _GuessedWrong  # a replay among the claims: nothing of the batch is kept
                        if size is None:
                            raise RuntimeError("audit log head row is missing; run the audit migrations")
                        first = int(size[0]) - len(pending) + 1
                        with driver.pipeline():
                            connection.execute(_INSERT, _rows(pending, first))
                            driver.commit()  # the insert and the commit in one round trip
                except psycopg.Error as exc:
                    # Raised by the driver itself, past SQLAlchemy: rolled back by now. Answered as
                    # SQLAlchemy answers every other statement's error (the same exception classes,
                    # no parameters in it), and the connection is not reused: whatever state the
                    # pipeline left it in goes with it.
                    if not _stored_before(exc):
                        connection.invalidate()
                    raise DBAPIError.instance(None, None, exc, psycopg.Error, hide_parameters=True) from exc
        except _GuessedWrong:
            return None
        except IntegrityError as exc:
            if not _stored_before(exc.orig):
                raise
            return None  # stored before (a resent call): rolled back, claims and reservation too
        stored = _stored(pending, first)
        return [[stored[r.idempotency_key] for r in call.records] for call in calls]

    def _pending(
        self, calls: Sequence[AppendCall], refused: set[int], stored: dict[str, StoredEvent]
    ) -> dict[str, _Pending]:
        """The events to store, by idempotency key: the first record of each key not stored yet,
        among the calls not refused, with its columns and its leaf up to its sequence (a new event
        id and new salts). Built before the log's lock is taken."""
        stored_at = self._clock()
        pending: dict[str, _Pending] = {}
        for i, call in enumerate(calls):
            if i in refused:
                continue
            for record in call.records:
                key = record.idempotency_key
                if key in stored or key in pending:
                    continue
                event_id, salts = uuid.uuid4(), Salts.draw()
                columns = _columns(record) | {
                    "event_id": event_id,
                    "stored_at": stored_at,
                    "actor_pid_salt": salts.actor_pid,
                    "justification_salt": salts.justification,
                }
                pending[key] = (columns, LeafTemplate.of(record, event_id=str(event_id), salts=salts), record)
        return pending

    def list_events(
        self, scope: ReadScope, limit: int, below_sequence: int | None = None, wanted: LogFilter = NO_FILTER
    ) -> list[StoredEvent]:
        """Events in scope that match `wanted`, newest first, at most `limit`, optionally only
        older than a sequence."""
        query = select(_EVENTS).where(AuditEventRow.patient_id == scope.patient_id)
        if scope.actor_orgnr_parent is not None:
            query = query.where(AuditEventRow.actor_orgnr_parent == scope.actor_orgnr_parent)
        if wanted.start is not None:
            query = query.where(AuditEventRow.occurred_at >= wanted.start)
        if wanted.end is not None:
            query = query.where(AuditEventRow.occurred_at < wanted.end)
        if wanted.actor_orgnr:
            query = query.where(
                or_(
                    AuditEventRow.actor_orgnr_parent == wanted.actor_orgnr,
                    AuditEventRow.actor_orgnr_child == wanted.actor_orgnr,
                )
            )
        if wanted.flagged_only:
            query = query.where(AuditEventRow.flagged)
        if wanted.exclude_patient_actors:
            # An event without an actor kind (none is stored so) is kept: excluding is explicit.
            query = query.where(
                or_(AuditEventRow.actor_kind.is_(None), AuditEventRow.actor_kind != ActorKind.PATIENT.value)
            )
        if below_sequence is not None:
            query = query.where(AuditEventRow.sequence < below_sequence)
        with self._sessions() as session:
            return [
                _stored_event(row)
                for row in session.execute(query.order_by(AuditEventRow.sequence.desc()).limit(limit)).mappings()
            ]

    def search_events(self, query: EventQuery, limit: int, below_sequence: int | None = None) -> list[StoredEvent]:
        """Events of the query's organisation that match its filter, newest first, at most `limit`,
        optionally only older than a sequence. Sequences follow commit order, so paging below the
        last one seen neither repeats nor skips an event, however many are appended meanwhile."""
        wanted = query.filter
        conditions: list[ColumnElement[bool] | InstrumentedAttribute[bool]] = [
            AuditEventRow.actor_orgnr_parent == query.actor_orgnr_parent
        ]
        column: InstrumentedAttribute[Any]
        for column, value in (
            (AuditEventRow.patient_id, wanted.patient_id),
            (AuditEventRow.actor_hpr_number, wanted.actor_hpr_number),
            (AuditEventRow.actor_pid, wanted.actor_pid),
            (AuditEventRow.actor_orgnr_child, wanted.actor_orgnr_child),
        ):
            if value:
                conditions.append(column == value)
        for column, member in (
            (AuditEventRow.purpose_of_use, wanted.purpose_of_use),
            (AuditEventRow.decision, wanted.decision),
            (AuditEventRow.access_basis, wanted.access_basis),
        ):
            if member is not None:
                conditions.append(column == member.value)
        if wanted.start is not None:
            conditions.append(AuditEventRow.occurred_at >= wanted.start)
        if wanted.end is not None:
            conditions.append(AuditEventRow.occurred_at < wanted.end)
        if wanted.flagged_only:
            conditions.append(AuditEventRow.flagged)
        if below_sequence is not None:
            conditions.append(AuditEventRow.sequence < below_sequence)
        statement = select(_EVENTS).where(*conditions).order_by(AuditEventRow.sequence.desc()).limit(limit)
        with self._sessions() as session:
            return [_stored_event(row) for row in session.execute(statement).mappings()]

    def organisation_events(self, actor_orgnr_parent: str, start: datetime, end: datetime) -> list[StoredEvent]:
        """Every event of one legal entity's actors that occurred in [start, end), newest first."""
        statement = (
            select(_EVENTS)
            .where(
                AuditEventRow.actor_orgnr_parent == actor_orgnr_parent,
                AuditEventRow.occurred_at >= start,
                AuditEventRow.occurred_at < end,
            )
            .order_by(AuditEventRow.sequence.desc())
        )
        with self._sessions() as session:
            return [_stored_event(row) for row in session.execute(statement).mappings()]

    def event_proof(self, sequence: int) -> EventProof | None:
        """The event with this sequence and its inclusion proof under the latest checkpoint, read in
        one session; None when no checkpoint covers such an event."""
        with self._sessions() as session:
            checkpoint = _latest_checkpoint(session)
            if checkpoint is None or not 1 <= sequence <= checkpoint.size:
                return None
            row = session.scalar(select(AuditEventRow).where(AuditEventRow.sequence == sequence))
            if row is None:
                return None
            hashes = merkle.inclusion_proof(sequence - 1, checkpoint.size, StoredNodes(session))
            return EventProof(_stored_event(row), _stored_salts(row), checkpoint.note, hashes)

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        with self._sessions() as session:
            checkpoint = _latest_checkpoint(session)
            return SignedCheckpoint(checkpoint.size, checkpoint.note) if checkpoint is not None else None

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf `index` in the stored tree of `size` leaves; O(log n) reads."""
        with self._sessions() as session:
            return merkle.inclusion_proof(index, size, StoredNodes(session))

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with self._sessions() as session:
            return merkle.consistency_proof(first, second, StoredNodes(session))

    def leaves(self, start: int, end: int, scope: LeafScope) -> list[tuple[int, bytes, bytes]]:
        """(index, leaf hash, leaf data) of leaves [start, end), both recomputed from the row as it
        is stored now, never read from the stored hash: a row changed in the database (any field,
        its organisation too) then no longer hashes into the signed root, whoever verifies. The
        data itself only for events in scope, else empty."""
        shown = scope.shows
        query = (
            select(AuditEventRow)
            .where(AuditEventRow.sequence > start, AuditEventRow.sequence <= end)
            .order_by(AuditEventRow.sequence)
        )
        with self._sessions() as session:
            leaves = []
            for row in session.scalars(query):
                data = _stored_leaf(row)
                leaves.append(
                    (row.sequence - 1, merkle.leaf_hash(data), data if shown(row.actor_orgnr_parent) else b"")
                )
            return leaves


def _stored_leaf(row: AuditEventRow) -> bytes:
    """The canonical leaf of a stored event, as its row now reads: version 2 when the row holds
    commitment salts, version 1 (stored before version 2) when not."""
    return leaf_bytes(_stored_record(row), event_id=str(row.event_id), sequence=row.sequence, salts=_stored_salts(row))


def _stored_salts(row: AuditEventRow) -> Salts | None:
    """The row's commitment salts; None for a version-1 event."""
    return Salts.stored(row.actor_pid_salt, row.justification_salt)


def _stored_event(row: AuditEventRow | RowMapping) -> StoredEvent:
    """The event a row holds (an ORM instance, or the mapping of a Core row of audit_events)."""
    if isinstance(row, AuditEventRow):
        return StoredEvent(str(row.event_id), row.sequence, _stored_record(row))
    return StoredEvent(str(row["event_id"]), row["sequence"], _stored_record(row))


def _stored_record(row: AuditEventRow | RowMapping) -> AuditRecord:
    """The record a row holds (the inverse of _columns). A Core row is read through its mapping
    (getattr on a Row costs a microsecond a column) and members are found in tables made once
    (an Enum call per member was a third of reading an event back)."""
    if isinstance(row, AuditEventRow):
        values = {name: getattr(row, name) for name in _RECORD_NAMES}
    else:
        values = {name: row[name] for name in _RECORD_NAMES}
    for name, members in _MEMBERS.items():
        if (value := values[name]) is not None:
            values[name] = members[value]
    return AuditRecord(**values)


_RECORD_FIELDS = fields(AuditRecord)
_RECORD_NAMES = tuple(f.name for f in _RECORD_FIELDS)
_ENUMS: dict[str, type[Enum]] = {
    "actor_kind": ActorKind,
    "action": Action,
    "data_category": DataCategory,
    "purpose_of_use": PurposeOfUse,
    "access_basis": AccessBasis,
    "decision": Decision,
}
# Stored value -> member, for each enum field.
_MEMBERS: dict[str, dict[object, Enum]] = {
    name: {member.value: member for member in domain} for name, domain in _ENUMS.items()
}


def _lookup(connection: Connection, keys: list[str]) -> dict[str, StoredEvent]:
    """The events already stored under any of the keys, by key."""
    return {
        row["idempotency_key"]: _stored_event(row) for row in connection.execute(_LOOKUP, {"keys": keys}).mappings()
    }


def _write(connection: Connection, pending: dict[str, _Pending]) -> int:
    """Reserves the pending events' sequences under the log's lock and inserts them; returns the
    first sequence. The critical section: from here to the commit, every other appender waits."""
    first = _reserve(connection, len(pending))
    connection.execute(_INSERT, _rows(pending, first))
    return first


def _stored_before(error: BaseException | None) -> bool:
    """The unique index on the idempotency key refused an insert: the event is stored already."""
    return isinstance(error, psycopg.errors.UniqueViolation) and "idempotency_key" in str(error)


def _stored(pending: dict[str, _Pending], first: int) -> dict[str, StoredEvent]:
    """The pending events as stored, by idempotency key, their sequences from `first`."""
    return {
        key: StoredEvent(str(columns["event_id"]), sequence, record)
        for sequence, (key, (columns, _, record)) in enumerate(pending.items(), start=first)
    }


def _rows(pending: dict[str, _Pending], first: int) -> list[dict[str, object]]:
    """The pending events' rows, their sequences from `first` and their leaf hashes."""
    return [
        columns | {"sequence": sequence, "leaf_hash": merkle.leaf_hash(template.leaf(sequence))}
        for sequence, (columns, template, _) in enumerate(pending.values(), start=first)
    ]


def _pipelined_claims(driver: psycopg.Connection, claims: Sequence[ReplayTicket]) -> psycopg.Cursor | None:
    """The claims' insert queued in the driver's pipeline (sorted, as `claim_tickets` does)."""
    if not claims:
        return None
    ordered = sorted(claims, key=lambda ticket: ticket.digest)
    parameters = tuple(value for ticket in ordered for value in (ticket.digest, ticket.expires_at))
    return driver.execute(claim_sql("postgresql", len(ordered)), parameters)


def _repeated_claims(calls: Sequence[AppendCall]) -> set[int]:
    """The calls whose claim an earlier call of the batch carries."""
    seen: set[bytes] = set()
    repeated = set()
    for i, call in enumerate(calls):
        if call.claim is not None:
            if call.claim.digest in seen:
                repeated.add(i)
            seen.add(call.claim.digest)
    return repeated


def _latest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1)).first()


def _reserve(connection: Connection, count: int) -> int:
    """Takes the log's write lock (the head row's lock on PostgreSQL, the database write lock on
    SQLite) for the rest of the transaction and reserves `count` sequences; returns the first.
    The transaction's first statement is this write: on SQLite a transaction that read first
    could not then write once another had committed (its snapshot is stale), hence the
    idempotency lookup in a transaction of its own."""
    size = connection.scalar(_RESERVE, {"count": count})
    if size is None:
        raise RuntimeError("audit log head row is missing; run the audit migrations")
    return size - count + 1


def _columns(record: AuditRecord) -> dict[str, object]:
    # Domain enums are stored by name, so the log reads the same whatever the proto numbers.
    # (Not dataclasses.asdict: its deep copy was a quarter of an append's time.)
    values = {name: getattr(record, name) for name in _RECORD_NAMES}
    for name in _ENUMS:
        if (member := values[name]) is not None:
            values[name] = member.value
    return values
