"""The audit service's use cases: what each call does with the log once the api has parsed it,
over the store and domain values (no proto, no gRPC, no SQL). The store is synchronous, so every
read and write runs off the event loop here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from services.platform.error_reasons import Reason
from services.platform.paging import MAX_ANSWER_BYTES

from . import metrics, signals
from .checkpoints import SignedCheckpoint
from .event_proof import format_event_proof
from .events import AuditRecord, StoredEvent
from .group_commit import GroupCommit, QueueFull
from .integrator import Integrator
from .read_scope import LeafScope, ReadScope
from .search import EventQuery, LogFilter
from .store import AppendCall

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from services.platform.replay_store import ReplayTicket

    from .signer import LogSigner
    from .store import AuditStore

# An export's renderer: the events, the log's origin and the export's time, to the file's bytes.
Render = Callable[[list[StoredEvent], str, datetime], bytes]


@dataclass(frozen=True)
class Export:
    """An export's file, how many events it holds, and whether events were left out to fit."""

    content: bytes
    event_count: int
    truncated: bool


class AuditLog:
    """The log as the api uses it: the store, this replica's integrator (which checkpoints what the
    store commits) and the group commit that shares one transaction among concurrent appends."""

    def __init__(
        self,
        store: AuditStore,
        signer: LogSigner,
        *,
        clock: Callable[[], datetime],
        leader_engine: Engine | None = None,
    ) -> None:
        """Starts this replica's integrator (services.audit.integrator) on `leader_engine` (its own,
        closed by `close`; None: the store's engine); `close` stops it."""
        self._store = store
        self._signer = signer
        self._clock = clock
        self._leader_engine = leader_engine
        self._integrator = Integrator(leader_engine or store.engine, signer)
        self._integrator.start()
        # Concurrent appends share one transaction, bounded by the events they carry.
        self._appends = GroupCommit(self._append, weight=lambda call: len(call.records))
        metrics.lag.watch(store)  # the checkpoint lag gauges read it while this api serves

    def _append(self, calls: list[AppendCall]) -> list[list[StoredEvent] | None]:
        stored = self._store.append_calls(calls)
        self._integrator.wake()  # if this replica leads, the checkpoint follows at once
        return stored

    def close(self) -> None:
        """Stops the integrator once the server has stopped (its leadership goes to another replica)."""
        metrics.lag.forget(self._store)
        self._appends.close()
        self._integrator.stop()
        if self._leader_engine is not None:
            self._leader_engine.dispose()

    async def append(self, records: list[AuditRecord], claim: ReplayTicket | None = None) -> list[StoredEvent] | None:
        """Stores validated records (each idempotency key once) and answers once they are committed,
        together with `claim` (the call's assertion, services.audit.store): None, and nothing
        stored, when the claim is refused (a replay); AUDIT_BUSY at once when too many wait for a
        commit."""
        started, outcome = time.perf_counter(), "error"
        try:
            (rows,) = await self._appends.submit([AppendCall(records, claim)])
            outcome = "ok" if rows is not None else "error"  # a replay: refused
        except QueueFull:
            outcome = "busy"
            # Fail closed and at once: the gateway serves no patient data without its event.
            raise Reason.AUDIT_BUSY.error("too many audit events wait for a commit; retry shortly") from None
        finally:
            metrics.appended(outcome, started, len(records))
        return rows

    async def list_events(
        self, scope: ReadScope, limit: int, below: int | None, wanted: LogFilter
    ) -> tuple[list[StoredEvent], bool]:
        """A page of a patient's log as `scope` may read it, newest first: at most `limit` events
        below a sequence, and whether more follow."""
        rows = await asyncio.to_thread(self._store.list_events, scope, limit + 1, below, wanted)
        return rows[:limit], len(rows) > limit

    async def search_events(self, query: EventQuery, limit: int, below: int | None) -> tuple[list[StoredEvent], bool]:
        """A page of an organisation's events matching the query, newest first, and whether more follow."""
        rows = await asyncio.to_thread(self._store.search_events, query, limit + 1, below)
        return rows[:limit], len(rows) > limit

    async def export_events(self, query: EventQuery, limit: int, render: Render) -> Export:
        """The newest `limit` events matching the query as one file, halved until it fits an answer."""
        events = await asyncio.to_thread(self._store.search_events, query, limit)
        now, truncated = self._clock(), False
        while True:
            content = await asyncio.to_thread(render, events, self._signer.origin, now)
            # Long texts can make events larger than usual: keep the newest half until it fits.
            if len(content) <= MAX_ANSWER_BYTES or len(events) <= 1:
                break
            events, truncated = events[: len(events) // 2], True
        return Export(content, len(events), truncated)

    async def signals(
        self, orgnr_parent: str, start: datetime, end: datetime, kinds: frozenset[signals.SignalKind]
    ) -> list[signals.Signal]:
        """The signals of one legal entity's events that occurred in [start, end), computed anew."""
        stored = await asyncio.to_thread(self._store.organisation_events, orgnr_parent, start, end)
        return signals.signals(stored, orgnr_parent, kinds)

    async def auditor_event_proof(self, sequence: int, scope: LeafScope) -> str:
        """The proof of an event of the auditor's organisation, opening the leaf's commitments."""
        proof = await asyncio.to_thread(self._store.event_proof, sequence)
        if proof is None:
            raise Reason.EVENT_NOT_FOUND.error("no event with this sequence is covered by a checkpoint")
        if not scope.shows(proof.event.record.actor_orgnr_parent):
            raise Reason.AUDIT_SCOPE_MISSING.error("an auditor gets proofs of their organisation's events")
        # The auditor sees the actor's person number and the justification: the proof opens them.
        return format_event_proof(sequence - 1, proof.leaf, proof.hashes, proof.checkpoint_note, proof.openings)

    async def patient_event_proof(self, sequence: int, scope: ReadScope) -> str:
        """The proof of an event of the patient's log, its commitments closed."""
        proof = await asyncio.to_thread(self._store.event_proof, sequence)
        # Another patient's event answers as one that does not exist: its existence is not theirs.
        if proof is None or proof.event.record.patient_id != scope.patient_id:
            raise Reason.EVENT_NOT_FOUND.error("no event of this patient with this sequence is covered by a checkpoint")
        if proof.salts is None:
            raise Reason.EVENT_PROOF_NOT_PRIVATE.error(
                "this event was logged before leaf version 2: its leaf holds the actor's person number and "
                "the justification in the clear, so its proof is given to auditors only",
            )
        # No openings: the leaf's commitments stay closed (services/audit/leaves.py).
        return format_event_proof(sequence - 1, proof.leaf, proof.hashes, proof.checkpoint_note)

    # The log's proofs. Sizes are bounded by the latest checkpoint: a verifier checks proofs against
    # a signed root, and every node below a checkpointed size is committed and never changes.

    async def latest_checkpoint(self) -> SignedCheckpoint:
        latest = await asyncio.to_thread(self._store.latest_checkpoint)
        if latest is None:
            raise Reason.NO_CHECKPOINT.error("the log holds no events yet, so no checkpoint is signed")
        return latest

    async def checkpointed_size(self) -> int:
        latest = await asyncio.to_thread(self._store.latest_checkpoint)
        return latest.size if latest is not None else 0

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return await asyncio.to_thread(self._store.inclusion_proof, index, size)

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return await asyncio.to_thread(self._store.consistency_proof, first, second)

    async def leaves(self, start: int, end: int, scope: LeafScope) -> list[tuple[int, bytes, bytes]]:
        return await asyncio.to_thread(self._store.leaves, start, end, scope)
