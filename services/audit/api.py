"""The audit service's gRPC servicer: parses each request (through convert), calls a use case
(use_cases.AuditLog) and renders the answer (through convert)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

import grpc

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from services.platform.assertion import GATEWAY_CLIENT_ID
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from services.platform.ids import person_number_violations
from services.platform.interceptors import asserted_patient, current_assertion, handler_claim
from services.platform.paging import fitting, page, page_violations, sequence_violations
from services.platform.vocabulary import ActorKind

from . import convert
from .read_scope import ReadScope, leaf_scope, read_scope
from .search import (
    MAX_EXPORT_LIMIT,
    MAX_FHIR_EXPORT_LIMIT,
    EventQuery,
    event_query,
    export_limit,
    filter_violations,
    filtered_page,
    filtered_page_violations,
)
from .use_cases import AuditLog

if TYPE_CHECKING:
    from sqlalchemy import Engine

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


class AuditApi(audit_pb2_grpc.AuditServiceServicer):
    # Methods whose assertion's claim this servicer commits with what the call stores.
    CLAIMED_IN_HANDLER: ClassVar[frozenset[str]] = frozenset({"AppendEvents"})
    # Methods that change nothing here: their assertion is claimed beside the handler (Backend.read_only).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {
            "ListEvents",
            "SearchEvents",
            "ExportEvents",
            "ListSignals",
            "GetEventProof",
            "GetPatientEventProof",
            "GetCheckpoint",
            "GetVerifierKey",
            "GetInclusionProof",
            "GetConsistencyProof",
            "GetLeaves",
        }
    )

    def __init__(
        self,
        store: AuditStore,
        signer: LogSigner,
        *,
        allow_synthetic: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        leader_engine: Engine | None = None,
    ) -> None:
        """Starts this replica's integrator (services.audit.integrator) on `leader_engine` (its own,
        closed by `close`; None: the store's engine); `close` stops it."""
        self._log = AuditLog(store, signer, clock=clock, leader_engine=leader_engine)
        self._signer = signer
        self._allow_synthetic = allow_synthetic
        self._clock = clock

    def close(self) -> None:
        """Stops the integrator once the server has stopped (its leadership goes to another replica)."""
        self._log.close()

    async def AppendEvents(
        self, request: audit_pb2.AppendEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.AppendEventsResponse:
        if current_assertion().actor.client_id != GATEWAY_CLIENT_ID:
            raise Reason.APPEND_NOT_ALLOWED.error("only the gateway appends audit events")
        if not 1 <= len(request.events) <= MAX_EVENTS_PER_CALL:
            raise invalid_argument({"events": f"1-{MAX_EVENTS_PER_CALL} events per call"})
        records, problems = [], {}
        for index, event in enumerate(request.events):
            record, violations = convert.record(event)
            records.append(record)
            problems.update({f"events[{index}].{path}": text for path, text in violations.items()})
        if problems:  # one bad event refuses the whole batch, so nothing is stored
            raise invalid_argument(problems)
        # The assertion's claim commits with the events (Backend.claimed_in_handler); refused, no event is stored.
        claim = handler_claim()
        stored = await self._log.append(records, claim.ticket if claim is not None else None)
        if claim is not None:
            claim.settled()
        if stored is None:
            raise Reason.ASSERTION_REPLAYED.error("internal assertion was already used")
        return audit_pb2.AppendEventsResponse(events=[convert.event(event) for event in stored])

    async def ListEvents(
        self, request: audit_pb2.ListEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListEventsResponse:
        log_filter, problems = convert.log_filter(request)
        limit, below, paging = filtered_page_violations(request.page_size, request.page_token, log_filter)
        problems |= person_number_violations(request.patient_id, allow_synthetic=self._allow_synthetic) | paging
        if problems:
            raise invalid_argument(problems)
        scope = _caller_read_scope(request.patient_id)
        if scope is None:
            raise Reason.AUDIT_SCOPE_MISSING.error(
                "the access log is read by the patient and by their organisation's auditors"
            )
        found, more = await self._log.list_events(scope, limit, below, log_filter)
        events, token = filtered_page(
            [convert.event(event, scope) for event in found], [event.sequence for event in found], more, log_filter
        )
        return audit_pb2.ListEventsResponse(events=events, next_page_token=token)

    async def SearchEvents(
        self, request: audit_pb2.SearchEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.SearchEventsResponse:
        query, problems = self._query(request.filter)
        limit, below, paging = page_violations(request.page_size, request.page_token)
        if problems := problems | paging:
            raise invalid_argument(problems)
        found, more = await self._log.search_events(query, limit, below)
        # Auditors see their organisation's events in full, as read_scope shows them to auditors.
        events, token = page([convert.event(event) for event in found], [event.sequence for event in found], more)
        return audit_pb2.SearchEventsResponse(events=events, next_page_token=token)

    async def ExportEvents(
        self, request: audit_pb2.ExportEventsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ExportEventsResponse:
        query, problems = self._query(request.filter)
        fhir = request.format == audit_pb2.EXPORT_FORMAT_FHIR_JSON
        limit, limiting = export_limit(request.limit, MAX_FHIR_EXPORT_LIMIT if fhir else MAX_EXPORT_LIMIT)
        problems |= limiting
        if request.format not in convert.EXPORTS:
            problems["format"] = f"unknown value {request.format}" if request.format else "required"
        if problems:
            raise invalid_argument(problems)
        content_type, render = convert.EXPORTS[request.format]
        export = await self._log.export_events(query, limit, render)
        return audit_pb2.ExportEventsResponse(
            content_type=content_type,
            content=export.content,
            event_count=export.event_count,
            truncated=export.truncated,
        )

    async def ListSignals(
        self, request: audit_pb2.ListSignalsRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListSignalsResponse:
        actor = current_assertion().actor
        if convert.actor_kind(actor) is not ActorKind.AUDITOR or not actor.orgnr_parent:
            raise Reason.AUDIT_SCOPE_MISSING.error("signals are read by an organisation's auditors")
        problems: dict[str, str] = {}
        kinds, start_time, end_time = convert.signal_request(request, problems)
        end = end_time or self._clock()
        try:
            start = start_time or end - DEFAULT_SIGNAL_RANGE
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
        found = await self._log.signals(actor.orgnr_parent, start, end, kinds)
        # Signals are computed, not stored: a token holds the index of the next one (the same
        # kind and times give the same list while no event arrives in the range).
        first = offset or 0
        shown, token = page(
            [convert.signal(s) for s in found[first : first + limit]],
            list(range(first + 1, first + limit + 1)),
            first + limit < len(found),
        )
        return audit_pb2.ListSignalsResponse(signals=shown, next_page_token=token)

    async def GetEventProof(
        self, request: audit_pb2.GetEventProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetEventProofResponse:
        actor = current_assertion().actor
        scope = leaf_scope(convert.actor_kind(actor), actor.orgnr_parent)
        if scope.actor_orgnr_parent is None:
            raise Reason.AUDIT_SCOPE_MISSING.error("event proofs are given to an organisation's auditors")
        if problems := sequence_violations(request.sequence):
            raise invalid_argument(problems)
        text = await self._log.auditor_event_proof(request.sequence, scope)
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
        text = await self._log.patient_event_proof(request.sequence, scope)
        return audit_pb2.GetPatientEventProofResponse(proof=text)

    def _query(self, proto_filter: audit_pb2.EventFilter) -> tuple[EventQuery, dict[str, str]]:
        """The caller's query and the filter's field violations; refused, before the filter is looked
        at, unless an auditor of an organisation asks. Every event an auditor sees, whatever the
        filter, is one their own organisation's actor made."""
        actor = current_assertion().actor
        event_filter, problems = convert.event_filter(proto_filter)
        query = event_query(convert.actor_kind(actor), actor.orgnr_parent, event_filter)
        if query is None:
            raise Reason.AUDIT_SCOPE_MISSING.error("the access log is searched by an organisation's auditors")
        return query, filter_violations(event_filter, allow_synthetic=self._allow_synthetic) | problems

    # The log's proofs, bounded by the latest checkpoint (use_cases.AuditLog).

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetCheckpointResponse:
        latest = await self._log.latest_checkpoint()
        return audit_pb2.GetCheckpointResponse(checkpoint=latest.note)

    async def GetVerifierKey(
        self, request: audit_pb2.GetVerifierKeyRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetVerifierKeyResponse:
        return audit_pb2.GetVerifierKeyResponse(vkey=self._signer.verifier.vkey, origin=self._signer.origin)

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetInclusionProofResponse:
        size = await self._log.checkpointed_size()
        problems = {}
        if not 1 <= request.tree_size <= size:
            problems["tree_size"] = f"1 to the latest checkpoint's size ({size})"
        if not 0 <= request.leaf_index < max(request.tree_size, 1):
            problems["leaf_index"] = "0 to tree_size - 1"
        if problems:
            raise invalid_argument(problems)
        hashes = await self._log.inclusion_proof(request.leaf_index, request.tree_size)
        return audit_pb2.GetInclusionProofResponse(hashes=hashes)

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetConsistencyProofResponse:
        size = await self._log.checkpointed_size()
        problems = {}
        if not 1 <= request.second_size <= size:
            problems["second_size"] = f"1 to the latest checkpoint's size ({size})"
        if not 1 <= request.first_size <= max(request.second_size, 1):
            problems["first_size"] = "1 to second_size"
        if problems:
            raise invalid_argument(problems)
        hashes = await self._log.consistency_proof(request.first_size, request.second_size)
        return audit_pb2.GetConsistencyProofResponse(hashes=hashes)

    async def GetLeaves(
        self, request: audit_pb2.GetLeavesRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetLeavesResponse:
        size = await self._log.checkpointed_size()
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
        scope = leaf_scope(convert.actor_kind(actor), actor.orgnr_parent)
        shown = convert.leaves(await self._log.leaves(request.start, request.end, scope))
        # Leaves of maximum-size events are up to ~10 kB: the answer holds the first ones that fit.
        return audit_pb2.GetLeavesResponse(leaves=shown[: fitting(shown, lambda leaf: leaf.ByteSize())])


def _caller_read_scope(patient_id: str) -> ReadScope | None:
    """The asserted caller's scope on the patient's events (None: none of them), after checking
    that the assertion names this patient; consent permitted the access log when the gateway's
    decision named ACCESS_LOG."""
    asserted_patient(patient_id)
    assertion = current_assertion()
    actor = assertion.actor
    return read_scope(
        convert.actor_kind(actor),
        actor.orgnr_parent,
        actor.pid,
        patient_id,
        consent_permitted=common_pb2.DATA_CATEGORY_ACCESS_LOG in assertion.data_categories,
    )
