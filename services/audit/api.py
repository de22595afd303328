"""gRPC mapping of the audit service: proto in, domain and store, proto out."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Generic, cast

import grpc
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from sqlalchemy import Engine

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.platform.assertion import GATEWAY_CLIENT_ID
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from services.platform.ids import person_number_violations
from services.platform.interceptors import asserted_patient, current_assertion
from services.platform.paging import MAX_ANSWER_BYTES, fitting, page, page_violations, sequence_violations
from services.platform.protomap import E, P, from_enum, read_timestamp, to_date, to_enum, to_timestamp
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse

from . import csv_export, fhir_export, metrics, signals
from .event_proof import format_event_proof
from .events import Action, AuditRecord, StoredEvent, joined_obligations, record_violations
from .group_commit import GroupCommit, QueueFull
from .integrator import Integrator
from .read_scope import ReadScope, leaf_scope, read_scope
from .search import (
    MAX_EXPORT_LIMIT,
    MAX_FHIR_EXPORT_LIMIT,
    EventFilter,
    EventQuery,
    LogFilter,
    event_query,
    export_limit,
    filter_violations,
    filtered_page,
    filtered_page_violations,
    log_filter_violations,
)
from .signer import LogSigner
from .store import AuditStore

MAX_EVENTS_PER_CALL = 500
MAX_LEAVES_PER_CALL = 1000
DEFAULT_SIGNAL_RANGE = timedelta(days=7)
# Signals are computed from every event in the range, so the range is bounded.
MAX_SIGNAL_RANGE = timedelta(days=31)
# A signal carries up to 100 events, so signals are paged in few at a time (and by bytes).
DEFAULT_SIGNAL_PAGE = 20
MAX_SIGNAL_PAGE = 50


class _EnumMap(Generic[P, E]):
    """One proto enum and its domain enum, both ways, as tables made once: what protomap's
    from_enum and to_enum give, without their name lookups and list of values on every call
    (an append maps six enums of every event in and out)."""

    def __init__(self, proto_enum: type[P], domain: type[E]) -> None:
        wrapper = cast(EnumTypeWrapper, proto_enum)  # what the stubs call a class is a wrapper object
        # Proto number -> member, for every known number but UNSPECIFIED (0).
        self.members: dict[int, E] = {
            number: member for number in wrapper.values()
            if number and (member := from_enum(wrapper, number, domain)) is not None
        }
        # Member -> proto number.
        self.numbers: dict[E, P] = {member: to_enum(proto_enum, member) for member in domain}
        self._unspecified = cast(P, 0)

    def number(self, member: E | None) -> P:
        """The proto number of a member; 0 (UNSPECIFIED) for none."""
        return self.numbers[member] if member is not None else self._unspecified


_ACTOR_KINDS = _EnumMap(common_pb2.ActorKind, ActorKind)
_ACTIONS = _EnumMap(audit_pb2.Action, Action)
_CATEGORIES = _EnumMap(common_pb2.DataCategory, DataCategory)
_PURPOSES = _EnumMap(common_pb2.PurposeOfUse, PurposeOfUse)
_BASES = _EnumMap(common_pb2.AccessBasis, AccessBasis)
_DECISIONS = _EnumMap(common_pb2.Decision, Decision)
# Obligation names as records hold them (without the prefix), both ways; UNSPECIFIED is none.
_OBLIGATION_NAMES: dict[int, str] = {
    number: audit_pb2.Obligation.Name(number).removeprefix("OBLIGATION_")
    for number in audit_pb2.Obligation.values() if number != audit_pb2.OBLIGATION_UNSPECIFIED
}
_OBLIGATION_NUMBERS = {name: cast(audit_pb2.Obligation, number) for number, name in _OBLIGATION_NAMES.items()}


class AuditApi(audit_pb2_grpc.AuditServiceServicer):
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"ListEvents", "SearchEvents", "ExportEvents", "ListSignals", "GetEventProof", "GetPatientEventProof", "GetCheckpoint", "GetVerifierKey", "GetInclusionProof", "GetConsistencyProof", "GetLeaves"})

    def __init__(
        self, store: AuditStore, signer: LogSigner, *, allow_synthetic: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), leader_engine: Engine | None = None,
    ) -> None:
        """Starts this replica's integrator (services.audit.integrator) on `leader_engine` (its own,
        closed by `close`; None: the store's engine); `close` stops it."""
        self._store = store
        self._signer = signer
        self._allow_synthetic = allow_synthetic
        self._clock = clock
        self._leader_engine = leader_engine
        self._integrator = Integrator(leader_engine or store.engine, signer)
        self._integrator.start()
        # Concurrent appends share one transaction.
        self._appends = GroupCommit(self._append)
        metrics.lag.watch(store)  # the checkpoint lag gauges read it while this api serves

    def _append(self, records: list[AuditRecord]) -> list[StoredEvent]:
        rows = self._store.append(records)
        self._integrator.wake()  # if this replica leads, the checkpoint follows at once
        return rows

    def close(self) -> None:
        """Stops the integrator once the server has stopped (its leadership goes to another replica)."""
        metrics.lag.forget(self._store)
        self._appends.close()
        self._integrator.stop()
        if self._leader_engine is not None:
            self._leader_engine.dispose()

    async def AppendEvents(
        self, request: audit_pb2.AppendEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.AppendEventsResponse:
        if current_assertion().actor.client_id != GATEWAY_CLIENT_ID:
            raise Reason.APPEND_NOT_ALLOWED.error("only the gateway appends audit events")
        if not 1 <= len(request.events) <= MAX_EVENTS_PER_CALL:
            raise invalid_argument({"events": f"1-{MAX_EVENTS_PER_CALL} events per call"})
        records, problems = [], {}
        for index, event in enumerate(request.events):
            record, violations = _record(event)
            records.append(record)
            problems.update({f"events[{index}].{path}": text for path, text in violations.items()})
        if problems:  # one bad event refuses the whole batch, so nothing is stored
            raise invalid_argument(problems)
        started, outcome = time.perf_counter(), "error"
        try:
            rows = await self._appends.submit(records)
            outcome = "ok"
        except QueueFull:
            outcome = "busy"
            # Fail closed and at once: the gateway serves no patient data without its event.
            raise Reason.AUDIT_BUSY.error("too many audit events wait for a commit; retry shortly") from None
        finally:
            metrics.appended(outcome, started, len(records))
        return audit_pb2.AppendEventsResponse(events=[_event(row) for row in rows])

    async def ListEvents(
        self, request: audit_pb2.ListEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListEventsResponse:
        log_filter, problems = _log_filter(request)
        limit, below, paging = filtered_page_violations(request.page_size, request.page_token, log_filter)
        problems |= person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic) | paging
        if problems:
            raise invalid_argument(problems)
        scope = _caller_read_scope(request.patient_id)
        if scope is None:
            raise Reason.AUDIT_SCOPE_MISSING.error(
                "the access log is read by the patient and by their organisation's auditors"
            )
        rows = await asyncio.to_thread(self._store.list_events, scope, limit + 1, below, log_filter)
        events, token = filtered_page(
            [_event(row, scope) for row in rows[:limit]], [r.sequence for r in rows], len(rows) > limit, log_filter
        )
        return audit_pb2.ListEventsResponse(events=events, next_page_token=token)

    async def SearchEvents(
        self, request: audit_pb2.SearchEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.SearchEventsResponse:
        query, problems = self._query(request.filter)
        limit, below, paging = page_violations(request.page_size, request.page_token)
        if problems := problems | paging:
            raise invalid_argument(problems)
        rows = await asyncio.to_thread(self._store.search_events, query, limit + 1, below)
        # Auditors see their organisation's events in full, as read_scope shows them to auditors.
        events, token = page([_event(row) for row in rows[:limit]], [r.sequence for r in rows], len(rows) > limit)
        return audit_pb2.SearchEventsResponse(events=events, next_page_token=token)

    async def ExportEvents(
        self, request: audit_pb2.ExportEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ExportEventsResponse:
        query, problems = self._query(request.filter)
        fhir = request.format == audit_pb2.EXPORT_FORMAT_FHIR_JSON
        limit, limiting = export_limit(request.limit, MAX_FHIR_EXPORT_LIMIT if fhir else MAX_EXPORT_LIMIT)
        problems |= limiting
        if request.format not in _EXPORTS:
            problems["format"] = f"unknown value {request.format}" if request.format else "required"
        if problems:
            raise invalid_argument(problems)
        events = await asyncio.to_thread(self._store.search_events, query, limit)
        content_type, render = _EXPORTS[request.format]
        now, truncated = self._clock(), False
        while True:
            content = await asyncio.to_thread(render, events, self._signer.origin, now)
            # Long texts can make events larger than usual: keep the newest half until it fits.
            if len(content) <= MAX_ANSWER_BYTES or len(events) <= 1:
                break
            events, truncated = events[: len(events) // 2], True
        return audit_pb2.ExportEventsResponse(
            content_type=content_type, content=content, event_count=len(events), truncated=truncated,
        )

    async def ListSignals(
        self, request: audit_pb2.ListSignalsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListSignalsResponse:
        actor = current_assertion().actor
        if from_enum(common_pb2.ActorKind, actor.kind, ActorKind) is not ActorKind.AUDITOR or not actor.orgnr_parent:
            raise Reason.AUDIT_SCOPE_MISSING.error("signals are read by an organisation's auditors")
        problems: dict[str, str] = {}
        if request.kind and request.kind not in audit_pb2.SignalKind.values():
            problems["kind"] = f"unknown value {request.kind}"
        times = {name: read_timestamp(request, name, problems) for name in ("start_time", "end_time")}
        end = times.get("end_time") or self._clock()
        try:
            start = times.get("start_time") or end - DEFAULT_SIGNAL_RANGE
        except OverflowError:  # an end_time in year 1
            problems["end_time"] = "too early"
        if not problems and start >= end:
            problems["start_time"] = "before end_time"
        elif not problems and end - start > MAX_SIGNAL_RANGE:
            problems["end_time"] = f"at most {MAX_SIGNAL_RANGE.days} days after start_time"
        limit, offset, paging = page_violations(
            request.page_size, request.page_token, default=DEFAULT_SIGNAL_PAGE, maximum=MAX_SIGNAL_PAGE
        )
        if problems := problems | paging:
            raise invalid_argument(problems)
        kinds = frozenset(signals.SignalKind) if not request.kind else frozenset(
            {signals.SignalKind[audit_pb2.SignalKind.Name(request.kind).removeprefix("SIGNAL_KIND_")]}
        )
        stored = await asyncio.to_thread(self._store.organisation_events, actor.orgnr_parent, start, end)
        found = signals.signals(stored, actor.orgnr_parent, kinds)
        # Signals are computed, not stored: a token holds the index of the next one (the same
        # kind and times give the same list while no event arrives in the range).
        first = offset or 0
        shown, token = page(
            [_signal(s) for s in found[first:first + limit]],
            list(range(first + 1, first + limit + 1)), first + limit < len(found),
        )
        return audit_pb2.ListSignalsResponse(signals=shown, next_page_token=token)

    async def GetEventProof(
        self, request: audit_pb2.GetEventProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetEventProofResponse:
        actor = current_assertion().actor
        scope = leaf_scope(from_enum(common_pb2.ActorKind, actor.kind, ActorKind), actor.orgnr_parent)
        if scope.actor_orgnr_parent is None:
            raise Reason.AUDIT_SCOPE_MISSING.error("event proofs are given to an organisation's auditors")
        if problems := sequence_violations(request.sequence):
            raise invalid_argument(problems)
        proof = await asyncio.to_thread(self._store.event_proof, request.sequence)
        if proof is None:
            raise Reason.EVENT_NOT_FOUND.error("no event with this sequence is covered by a checkpoint")
        if not scope.shows(proof.event.record.actor_orgnr_parent):
            raise Reason.AUDIT_SCOPE_MISSING.error("an auditor gets proofs of their organisation's events")
        # The auditor sees the actor's person number and the justification: the proof opens them.
        text = format_event_proof(
            request.sequence - 1, proof.leaf, proof.hashes, proof.checkpoint_note, proof.openings,
        )
        return audit_pb2.GetEventProofResponse(proof=text)

    async def GetPatientEventProof(
        self, request: audit_pb2.GetPatientEventProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetPatientEventProofResponse:
        problems = person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic)
        problems |= sequence_violations(request.sequence)
        if problems:
            raise invalid_argument(problems)
        scope = _caller_read_scope(request.patient_id)
        if scope is None or scope.shows_actor_pid:  # auditors prove with GetEventProof
            raise Reason.AUDIT_SCOPE_MISSING.error(
                "a patient's event proof is given to the patient and whom consent permits"
            )
        proof = await asyncio.to_thread(self._store.event_proof, request.sequence)
        # Another patient's event answers as one that does not exist: its existence is not theirs.
        if proof is None or proof.event.record.patient_id != scope.patient_id:
            raise Reason.EVENT_NOT_FOUND.error("no event of this patient with this sequence is covered by a checkpoint")
        if proof.salts is None:
            raise Reason.EVENT_PROOF_NOT_PRIVATE.error(
                "this event was logged before leaf version 2: its leaf holds the actor's person number and "
                "the justification in the clear, so its proof is given to auditors only",
            )
        # No openings: the leaf's commitments stay closed (services/audit/leaves.py).
        text = format_event_proof(request.sequence - 1, proof.leaf, proof.hashes, proof.checkpoint_note)
        return audit_pb2.GetPatientEventProofResponse(proof=text)

    def _query(self, proto_filter: audit_pb2.EventFilter) -> tuple[EventQuery, dict[str, str]]:
        """The caller's query and the filter's field violations; refused, before the filter is looked
        at, unless an auditor of an organisation asks. Every event an auditor sees, whatever the
        filter, is one their own organisation's actor made."""
        actor = current_assertion().actor
        event_filter, problems = _filter(proto_filter)
        query = event_query(from_enum(common_pb2.ActorKind, actor.kind, ActorKind), actor.orgnr_parent, event_filter)
        if query is None:
            raise Reason.AUDIT_SCOPE_MISSING.error("the access log is searched by an organisation's auditors")
        return query, filter_violations(event_filter, allow_synthetic=self._allow_synthetic) | problems

    # The log's proofs. Sizes are bounded by the latest checkpoint: a verifier checks proofs against
    # a signed root, and every node below a checkpointed size is committed and never changes.

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetCheckpointResponse:
        latest = await asyncio.to_thread(self._store.latest_checkpoint)
        if latest is None:
            raise Reason.NO_CHECKPOINT.error("the log holds no events yet, so no checkpoint is signed")
        return audit_pb2.GetCheckpointResponse(checkpoint=latest.note)

    async def GetVerifierKey(
        self, request: audit_pb2.GetVerifierKeyRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetVerifierKeyResponse:
        return audit_pb2.GetVerifierKeyResponse(vkey=self._signer.verifier.vkey, origin=self._signer.origin)

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetInclusionProofResponse:
        size = await self._checkpointed_size()
        problems = {}
        if not 1 <= request.tree_size <= size:
            problems["tree_size"] = f"1 to the latest checkpoint's size ({size})"
        if not 0 <= request.leaf_index < max(request.tree_size, 1):
            problems["leaf_index"] = "0 to tree_size - 1"
        if problems:
            raise invalid_argument(problems)
        hashes = await asyncio.to_thread(self._store.inclusion_proof, request.leaf_index, request.tree_size)
        return audit_pb2.GetInclusionProofResponse(hashes=hashes)

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetConsistencyProofResponse:
        size = await self._checkpointed_size()
        problems = {}
        if not 1 <= request.second_size <= size:
            problems["second_size"] = f"1 to the latest checkpoint's size ({size})"
        if not 1 <= request.first_size <= max(request.second_size, 1):
            problems["first_size"] = "1 to second_size"
        if problems:
            raise invalid_argument(problems)
        hashes = await asyncio.to_thread(self._store.consistency_proof, request.first_size, request.second_size)
        return audit_pb2.GetConsistencyProofResponse(hashes=hashes)

    async def GetLeaves(
        self, request: audit_pb2.GetLeavesRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetLeavesResponse:
        size = await self._checkpointed_size()
        problems = {}
        if not 0 <= request.start < size:
            problems["start"] = f"0 to the latest checkpoint's size ({size}) - 1"
        if not request.start < request.end <= min(request.start + MAX_LEAVES_PER_CALL, size):
            problems["end"] = (
                f"after start, at most start + {MAX_LEAVES_PER_CALL} and the latest checkpoint's size ({size})"
            )
        if problems:
            raise invalid_argument(problems)
        actor = current_assertion().actor
        scope = leaf_scope(from_enum(common_pb2.ActorKind, actor.kind, ActorKind), actor.orgnr_parent)
        leaves = await asyncio.to_thread(self._store.leaves, request.start, request.end, scope)
        shown = [audit_pb2.Leaf(index=index, leaf_hash=hash_, data=data) for index, hash_, data in leaves]
        # Leaves of maximum-size events are up to ~10 kB: the answer holds the first ones that fit.
        return audit_pb2.GetLeavesResponse(leaves=shown[: fitting(shown, lambda leaf: leaf.ByteSize())])

    async def _checkpointed_size(self) -> int:
        latest = await asyncio.to_thread(self._store.latest_checkpoint)
        return latest.size if latest is not None else 0


def _log_filter(request: audit_pb2.ListEventsRequest) -> tuple[LogFilter, dict[str, str]]:
    """The filters of a ListEvents request and their field violations (impossible timestamps,
    an invalid organisation number, an end not after the start)."""
    problems: dict[str, str] = {}
    log_filter = LogFilter(
        start=read_timestamp(request, "start_time", problems),
        end=read_timestamp(request, "end_time", problems),
        actor_orgnr=request.actor_orgnr,
        flagged_only=request.flagged_only,
        exclude_patient_actors=request.exclude_patient_actors,
    )
    return log_filter, log_filter_violations(log_filter) | problems


def _filter(proto: audit_pb2.EventFilter) -> tuple[EventFilter, dict[str, str]]:
    """The domain filter and its mapping problems (unknown enum values, impossible timestamps)."""
    problems: dict[str, str] = {}

    def time(name: str) -> datetime | None:
        return read_timestamp(proto, name, problems, f"filter.{name}")

    def enum(proto_enum: EnumTypeWrapper, name: str, domain: type[E]) -> E | None:
        number = getattr(proto, name)
        if number and number not in proto_enum.values():
            problems[f"filter.{name}"] = f"unknown value {number}"
        return from_enum(proto_enum, number, domain)

    event_filter = EventFilter(
        patient_id=proto.patient_id,
        actor_hpr_number=proto.actor_hpr_number,
        actor_pid=proto.actor_pid,
        actor_orgnr_child=proto.actor_orgnr_child,
        start=time("start_time"),
        end=time("end_time"),
        purpose_of_use=enum(common_pb2.PurposeOfUse, "purpose_of_use", PurposeOfUse),
        decision=enum(common_pb2.Decision, "decision", Decision),
        access_basis=enum(common_pb2.AccessBasis, "access_basis", AccessBasis),
        flagged_only=proto.flagged_only,
    )
    return event_filter, problems


def _signal(signal: signals.Signal) -> audit_pb2.Signal:
    """A signal with its events as an auditor sees them (in full, as SearchEvents shows them)."""
    events = [_event(e) for e in signal.events]
    return audit_pb2.Signal(
        kind=to_enum(audit_pb2.SignalKind, signal.kind),
        actor=events[0].actor,
        day=to_date(signal.day),
        summary=signal.summary,
        events=events,
    )


def _fhir(events: list[StoredEvent], origin: str, now: datetime) -> bytes:
    return fhir_export.events_bundle(events, origin=origin, exported_at=now)


def _csv(events: list[StoredEvent], origin: str, now: datetime) -> bytes:
    return csv_export.events_csv(events)


_EXPORTS: dict[int, tuple[str, Callable[[list[StoredEvent], str, datetime], bytes]]] = {
    audit_pb2.EXPORT_FORMAT_FHIR_JSON: (fhir_export.CONTENT_TYPE, _fhir),
    audit_pb2.EXPORT_FORMAT_CSV: (csv_export.CONTENT_TYPE, _csv),
}


def _record(event: audit_pb2.AuditEvent) -> tuple[AuditRecord, dict[str, str]]:
    """The domain record of an appended event and its field violations (proto paths)."""
    problems: dict[str, str] = {}
    if event.event_id or event.sequence:
        problems["event_id" if event.event_id else "sequence"] = "assigned by the server; leave empty"
    occurred_at = read_timestamp(event, "occur_time", problems)

    def enum(mapping: _EnumMap[P, E], number: int, path: str) -> E | None:
        member = mapping.members.get(number)
        if number and member is None:
            problems[path] = f"unknown value {number}"
        return member

    actor = event.actor
    record = AuditRecord(
        idempotency_key=event.idempotency_key,
        occurred_at=occurred_at,
        actor_kind=enum(_ACTOR_KINDS, actor.kind, "actor.kind"),
        actor_client_id=actor.client_id,
        actor_client_name=actor.client_name,
        actor_pid=actor.pid,
        actor_name=actor.name,
        actor_hpr_number=actor.hpr_number,
        actor_authorization=actor.authorization,
        actor_orgnr_parent=actor.orgnr_parent,
        actor_orgnr_child=actor.orgnr_child,
        patient_id=event.patient_id,
        action=enum(_ACTIONS, event.action, "action"),
        data_category=enum(_CATEGORIES, event.data_category, "data_category"),
        purpose_of_use=enum(_PURPOSES, event.purpose_of_use, "purpose_of_use"),
        access_basis=enum(_BASES, event.access_basis, "access_basis"),
        decision=enum(_DECISIONS, event.decision, "decision"),
        decided_by=event.decided_by,
        decision_id=event.decision_id,
        trace_id=event.trace_id,
        method=event.method,
        flagged=event.flagged,
        justification=event.justification,
        obligations=_obligations(event, problems),
    )
    # Mapping problems are the more precise ones (e.g. "unknown value" rather than "required").
    return record, record_violations(record) | problems


def _obligations(event: audit_pb2.AuditEvent, problems: dict[str, str]) -> str:
    """The event's obligations as the record holds them (names, each once, in order)."""
    if not event.obligations:
        return ""
    names = set()
    for number in event.obligations:
        if (name := _OBLIGATION_NAMES.get(number)) is None:
            problems["obligations"] = f"unknown value {number}"
        else:
            names.add(name)
    if len(names) != len(event.obligations) and "obligations" not in problems:
        problems["obligations"] = "each obligation at most once"
    return joined_obligations(names)


# What a patient's log shows ("logg over bruk", docs/audit-log.md "The access log is a transparency log"): who by name and organisation,
# when, what, on which basis, the decision and whether it was flagged — not the log's internals.
_HIDDEN_FROM_PATIENTS = (
    "idempotency_key", "decided_by", "decision_id", "trace_id", "method", "justification", "obligations",
)


def _event(stored: StoredEvent, scope: ReadScope | None = None) -> audit_pb2.AuditEvent:
    """The stored event as a reader in `scope` may see it; in full for the appending gateway."""
    event = _full_event(stored, scope)
    if scope is not None and not scope.shows_actor_pid:
        for name in _HIDDEN_FROM_PATIENTS:
            event.ClearField(name)
    return event


def _full_event(stored: StoredEvent, scope: ReadScope | None) -> audit_pb2.AuditEvent:
    row = stored.record
    return audit_pb2.AuditEvent(
        event_id=stored.event_id,
        idempotency_key=row.idempotency_key,
        occur_time=to_timestamp(row.occurred_at) if row.occurred_at is not None else None,  # stored: never None
        actor=common_pb2.Actor(
            kind=_ACTOR_KINDS.number(row.actor_kind),
            client_id=row.actor_client_id,
            client_name=row.actor_client_name,
            pid=row.actor_pid if scope is None or scope.shows_actor_pid else "",
            name=row.actor_name,
            hpr_number=row.actor_hpr_number,
            authorization=row.actor_authorization,
            orgnr_parent=row.actor_orgnr_parent,
            orgnr_child=row.actor_orgnr_child,
        ),
        patient_id=row.patient_id,
        action=_ACTIONS.number(row.action),
        data_category=_CATEGORIES.number(row.data_category),
        purpose_of_use=_PURPOSES.number(row.purpose_of_use),
        access_basis=_BASES.number(row.access_basis),
        decision=_DECISIONS.number(row.decision),
        decided_by=row.decided_by,
        decision_id=row.decision_id,
        trace_id=row.trace_id,
        method=row.method,
        sequence=stored.sequence,
        flagged=row.flagged,
        justification=row.justification if scope is None or scope.shows_justification else "",
        obligations=[_OBLIGATION_NUMBERS[name] for name in row.obligations.split(",") if name]
        if row.obligations else [],
    )


def _caller_read_scope(patient_id: str) -> ReadScope | None:
    """The asserted caller's scope on the patient's events (None: none of them), after checking
    that the assertion names this patient; consent permitted the access log when the gateway's
    decision named ACCESS_LOG."""
    asserted_patient(patient_id)
    assertion = current_assertion()
    actor = assertion.actor
    kind = from_enum(common_pb2.ActorKind, actor.kind, ActorKind)
    return read_scope(
        kind, actor.orgnr_parent, actor.pid, patient_id,
        consent_permitted=common_pb2.DATA_CATEGORY_ACCESS_LOG in assertion.data_categories,
    )
