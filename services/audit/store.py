"""Audit log storage (synchronous; the api runs it off the event loop).

Durability comes from services.platform.db (SQLite WAL + synchronous=FULL, PostgreSQL
synchronous_commit on): `append` returns only after its batch is committed. Each batch stores, in
one transaction under the log's head lock, its events with their Merkle leaf hashes, the tree
nodes they complete, and (given the log's signer) the signed checkpoint of the new tree: every
committed event is covered by a checkpoint from the moment it is acknowledged.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse

from . import merkle
from .checkpoints import NoteError
from .events import Action, AuditRecord
from .leaves import leaf_bytes
from .merkle import Frontier, MerkleError
from .models import AuditEventRow, CheckpointRow, LogHeadRow, NodeRow
from .scope import LeafScope, ReadScope
from .search import EventQuery
from .signer import LogSigner
from .tree import StoredNodes, node_rows

log = logging.getLogger(__name__)


class AuditStore:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessions
        self._clock = clock
        # The frontier of the tree this process last committed. Other processes append too, so it is
        # used only while the head's size still equals its size, and replaced only after a commit.
        self._frontier: Frontier | None = None
        self._appending = threading.Lock()  # one append per process at a time: they share the frontier

    def append(self, records: Sequence[AuditRecord], signer: LogSigner | None = None) -> list[AuditEventRow]:
        """Stores validated records in one transaction; a record whose idempotency key is already
        stored (or repeated in the batch) is not stored again. Returns the stored rows in request
        order. With a signer, the new tree's checkpoint is signed and stored in the same transaction."""
        with self._appending:
            try:
                rows, self._frontier = self._append(records, signer)
            except IntegrityError:
                # Appenders are serialised by the head lock, so a concurrent retry normally just finds
                # its key stored; should a unique key still collide, the re-run re-reads the winner.
                rows, self._frontier = self._append(records, signer)
            return rows

    def _append(self, records: Sequence[AuditRecord], signer: LogSigner | None) -> tuple[list[AuditEventRow], Frontier]:
        stored_at = self._clock()
        with self._sessions.begin() as session:
            size = _lock_head(session)
            nodes = StoredNodes(session)
            cached = self._frontier
            before = cached if cached is not None and cached.size == size else Frontier.from_source(size, nodes)
            keys = {r.idempotency_key for r in records}
            stored = {
                row.idempotency_key: row
                for row in session.scalars(select(AuditEventRow).where(AuditEventRow.idempotency_key.in_(keys)))
            }
            after, completed = before, []
            for record in records:
                if record.idempotency_key in stored:
                    continue
                event_id, sequence = uuid.uuid4(), after.size + 1
                leaf = merkle.leaf_hash(leaf_bytes(record, event_id=str(event_id), sequence=sequence))
                after, new_nodes = after.append(leaf)
                completed += new_nodes
                row = AuditEventRow(
                    sequence=sequence, event_id=event_id, stored_at=stored_at, leaf_hash=leaf, **_columns(record)
                )
                session.add(row)
                stored[record.idempotency_key] = row
            if rows := node_rows(completed):
                session.execute(insert(NodeRow), rows)
            session.execute(update(LogHeadRow).where(LogHeadRow.id == 1).values(size=after.size))
            if signer is not None:
                self._checkpoint(session, signer, before, after, stored_at)
        return [stored[r.idempotency_key] for r in records], after

    def _checkpoint(
        self, session: Session, signer: LogSigner, before: Frontier, after: Frontier, now: datetime
    ) -> None:
        """Signs and stores the checkpoint of `after` unless one of its size exists; refuses (and
        says so loudly) when `after` does not extend the latest signed checkpoint."""
        latest = _latest_checkpoint(session)
        if after.size == 0 or (latest is not None and latest.size == after.size):
            return  # nothing new to sign
        problem = _extension_problem(signer, latest, before, after, StoredNodes(session))
        if problem is not None:
            # The events are committed all the same: losing them would hide the very accesses the
            # log exists for. No further checkpoint is signed until someone looks.
            log.critical("audit log: refusing to sign a checkpoint of %d events: %s", after.size, problem)
            return
        root = after.root()
        session.add(CheckpointRow(size=after.size, root=root, note=signer.sign(after.size, root), signed_at=now))

    def list_events(self, scope: ReadScope, limit: int, below_sequence: int | None = None) -> list[AuditEventRow]:
        """Events in scope, newest first, at most `limit`, optionally only older than a sequence."""
        query = select(AuditEventRow).where(AuditEventRow.patient_id == scope.patient_id)
        if scope.actor_orgnr_parent is not None:
            query = query.where(AuditEventRow.actor_orgnr_parent == scope.actor_orgnr_parent)
        if below_sequence is not None:
            query = query.where(AuditEventRow.sequence < below_sequence)
        with self._sessions() as session:
            return list(session.scalars(query.order_by(AuditEventRow.sequence.desc()).limit(limit)))

    def search_events(self, query: EventQuery, limit: int, below_sequence: int | None = None) -> list[AuditEventRow]:
        """Events of the query's organisation that match its filter, newest first, at most `limit`,
        optionally only older than a sequence. Sequences follow commit order, so paging below the
        last one seen neither repeats nor skips an event, however many are appended meanwhile."""
        wanted = query.filter
        conditions = [AuditEventRow.actor_orgnr_parent == query.actor_orgnr_parent]
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
        statement = select(AuditEventRow).where(*conditions).order_by(AuditEventRow.sequence.desc()).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(statement))

    def organisation_events(self, actor_orgnr_parent: str, start: datetime, end: datetime) -> list[AuditEventRow]:
        """Every event of one legal entity's actors that occurred in [start, end), newest first."""
        statement = (
            select(AuditEventRow)
            .where(
                AuditEventRow.actor_orgnr_parent == actor_orgnr_parent,
                AuditEventRow.occurred_at >= start,
                AuditEventRow.occurred_at < end,
            )
            .order_by(AuditEventRow.sequence.desc())
        )
        with self._sessions() as session:
            return list(session.scalars(statement))

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
            return EventProof(row, checkpoint.note, hashes)

    def latest_checkpoint(self) -> CheckpointRow | None:
        with self._sessions() as session:
            return _latest_checkpoint(session)

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
                data = stored_leaf(row)
                leaves.append((row.sequence - 1, merkle.leaf_hash(data), data if shown(row.actor_orgnr_parent) else b""))
            return leaves


@dataclass(frozen=True)
class EventProof:
    """One event, the latest signed checkpoint note, and the event's inclusion proof under it."""

    row: AuditEventRow
    checkpoint_note: str
    hashes: list[bytes]


def stored_leaf(row: AuditEventRow) -> bytes:
    """The canonical leaf of a stored event, as its row now reads."""
    return leaf_bytes(stored_record(row), event_id=str(row.event_id), sequence=row.sequence)


def stored_record(row: AuditEventRow) -> AuditRecord:
    """The record a row holds (the inverse of _columns)."""
    values = {f.name: getattr(row, f.name) for f in _RECORD_FIELDS}
    for name, domain in _ENUMS.items():
        values[name] = domain(values[name]) if values[name] is not None else None
    return AuditRecord(**values)


_RECORD_FIELDS = fields(AuditRecord)
_ENUMS: dict[str, type[Enum]] = {
    "actor_kind": ActorKind,
    "action": Action,
    "data_category": DataCategory,
    "purpose_of_use": PurposeOfUse,
    "access_basis": AccessBasis,
    "decision": Decision,
}


def _extension_problem(
    signer: LogSigner, latest: CheckpointRow | None, before: Frontier, after: Frontier, nodes: StoredNodes
) -> str | None:
    """Why `after` is not an extension of the latest signed checkpoint; None when it is."""
    if latest is None:
        return None
    try:
        signed = signer.open(latest.note)
    except NoteError as exc:
        return f"the latest stored checkpoint does not verify with the log's key: {exc}"
    if (signed.size, signed.root) != (latest.size, bytes(latest.root)):
        return "the latest checkpoint row differs from its signed note"
    if signed.size > after.size:
        return f"the log shrank: {signed.size} events were signed, the tree holds {after.size}"
    if signed.size == before.size:
        # `after` grew from `before` by appends only, so it extends whatever `before` is.
        return None if signed.root == before.root() else "the tree's root at the signed size is not the signed root"
    try:
        proof = merkle.consistency_proof(signed.size, after.size, nodes)
        merkle.verify_consistency(signed.size, after.size, proof, signed.root, after.root())
    except MerkleError as exc:
        return f"the stored tree is not an extension of the signed one: {exc}"
    return None


def _latest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1)).first()


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
    # (Not dataclasses.asdict: its deep copy was a quarter of an append's time.)
    values = {f.name: getattr(record, f.name) for f in _RECORD_FIELDS}
    return {name: v.value if isinstance(v, Enum) else v for name, v in values.items()}
