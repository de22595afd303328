"""Proto <-> domain mapping of the audit service, in one place: appended events to records and
stored events to AuditEvent messages (as a reader in scope may see them), the filters of a
patient's log and of auditors' searches, signals, leaves and the export formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Generic, cast

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from samhandling.audit.v1 import audit_pb2
from samhandling.common.v1 import common_pb2
from services.platform.protomap import E, P, from_enum, read_timestamp, to_date, to_enum, to_timestamp
from services.platform.vocabulary import AccessBasis, ActorKind, DataCategory, Decision, PurposeOfUse

from . import csv_export, fhir_export, signals
from .events import Action, AuditRecord, StoredEvent, joined_obligations, record_violations
from .read_scope import ReadScope
from .search import EventFilter, LogFilter, log_filter_violations


class _EnumMap(Generic[P, E]):
    """One proto enum and its domain enum, both ways, as tables made once: what protomap's
    from_enum and to_enum give, without their name lookups and list of values on every call
    (an append maps six enums of every event in and out)."""

    def __init__(self, proto_enum: type[P], domain: type[E]) -> None:
        wrapper = cast(EnumTypeWrapper, proto_enum)  # what the stubs call a class is a wrapper object
        # Proto number -> member, for every known number but UNSPECIFIED (0).
        self.members: dict[int, E] = {
            number: member
            for number in wrapper.values()
            if number and (member := from_enum(wrapper, number, domain)) is not None
        }
        # Member's value -> proto number (keyed by value: an Enum member hashes in Python code).
        self.numbers: dict[object, P] = {member._value_: to_enum(proto_enum, member) for member in domain}
        self._unspecified = cast(P, 0)

    def number(self, member: E | None) -> P:
        """The proto number of a member; 0 (UNSPECIFIED) for none."""
        return self.numbers[member._value_] if member is not None else self._unspecified


_ACTOR_KINDS = _EnumMap(common_pb2.ActorKind, ActorKind)
_ACTIONS = _EnumMap(audit_pb2.Action, Action)
_CATEGORIES = _EnumMap(common_pb2.DataCategory, DataCategory)
_PURPOSES = _EnumMap(common_pb2.PurposeOfUse, PurposeOfUse)
_BASES = _EnumMap(common_pb2.AccessBasis, AccessBasis)
_DECISIONS = _EnumMap(common_pb2.Decision, Decision)
# Obligation names as records hold them (without the prefix), both ways; UNSPECIFIED is none.
_OBLIGATION_NAMES: dict[int, str] = {
    number: audit_pb2.Obligation.Name(number).removeprefix("OBLIGATION_")
    for number in audit_pb2.Obligation.values()
    if number != audit_pb2.OBLIGATION_UNSPECIFIED
}
_OBLIGATION_NUMBERS = {name: cast(audit_pb2.Obligation, number) for number, name in _OBLIGATION_NAMES.items()}


def log_filter(request: audit_pb2.ListEventsRequest) -> tuple[LogFilter, dict[str, str]]:
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


def event_filter(proto: audit_pb2.EventFilter) -> tuple[EventFilter, dict[str, str]]:
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


def signal(signal: signals.Signal) -> audit_pb2.Signal:
    """A signal with its events as an auditor sees them (in full, as SearchEvents shows them)."""
    events = [event(e) for e in signal.events]
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


EXPORTS: dict[int, tuple[str, Callable[[list[StoredEvent], str, datetime], bytes]]] = {
    audit_pb2.EXPORT_FORMAT_FHIR_JSON: (fhir_export.CONTENT_TYPE, _fhir),
    audit_pb2.EXPORT_FORMAT_CSV: (csv_export.CONTENT_TYPE, _csv),
}


def record(event: audit_pb2.AuditEvent) -> tuple[AuditRecord, dict[str, str]]:
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
    "idempotency_key",
    "decided_by",
    "decision_id",
    "trace_id",
    "method",
    "justification",
    "obligations",
)


def event(stored: StoredEvent, scope: ReadScope | None = None) -> audit_pb2.AuditEvent:
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
        if row.obligations
        else [],
    )


def actor_kind(actor: common_pb2.Actor) -> ActorKind | None:
    """The asserted actor's kind (None for an unknown or unspecified one)."""
    return from_enum(common_pb2.ActorKind, actor.kind, ActorKind)


def signal_request(
    request: audit_pb2.ListSignalsRequest, problems: dict[str, str]
) -> tuple[frozenset[signals.SignalKind], datetime | None, datetime | None]:
    """The kinds a ListSignals request asks for (every kind for none) and its start and end times
    (None when not given); an unknown kind and impossible times go to `problems`."""
    kinds = frozenset(signals.SignalKind)
    if request.kind and request.kind not in audit_pb2.SignalKind.values():
        problems["kind"] = f"unknown value {request.kind}"
    elif request.kind:
        kinds = frozenset({signals.SignalKind[audit_pb2.SignalKind.Name(request.kind).removeprefix("SIGNAL_KIND_")]})
    times = {name: read_timestamp(request, name, problems) for name in ("start_time", "end_time")}
    return kinds, times.get("start_time"), times.get("end_time")


def leaves(found: list[tuple[int, bytes, bytes]]) -> list[audit_pb2.Leaf]:
    """Leaves as GetLeaves answers them: index, hash and data (empty when out of the reader's scope)."""
    return [audit_pb2.Leaf(index=index, leaf_hash=hash_, data=data) for index, hash_, data in found]
