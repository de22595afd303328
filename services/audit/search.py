"""Auditors' searches and exports, pure: who may search, what a filter may say, and the events a
search yields (Normen fact sheet 15: an organisation reviews its own accesses)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.platform.ids import InvalidIdentifier, person_number_violations, validate_hpr_number, validate_org_number
from services.platform.vocabulary import AccessBasis, ActorKind, Decision, PurposeOfUse

from .events import AuditRecord

DEFAULT_EXPORT_LIMIT = 1000
MAX_EXPORT_LIMIT = 5000  # CSV, ~1.7 MB
# A FHIR AuditEvent takes ~3.7 KB: 500 keep an export under gRPC's default 4 MB message limit.
MAX_FHIR_EXPORT_LIMIT = 500


@dataclass(frozen=True)
class EventFilter:
    """What an auditor searches for (audit.v1 EventFilter); empty values match everything."""

    patient_id: str = ""
    actor_hpr_number: str = ""
    actor_pid: str = ""
    actor_orgnr_child: str = ""
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    purpose_of_use: PurposeOfUse | None = None
    decision: Decision | None = None
    access_basis: AccessBasis | None = None
    flagged_only: bool = False


@dataclass(frozen=True)
class EventQuery:
    """A filter confined to the events of one legal entity: the auditor's own, never the request's."""

    actor_orgnr_parent: str
    filter: EventFilter


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it: the record with its id and place in the log."""

    event_id: str
    sequence: int
    record: AuditRecord


def event_query(
    reader_kind: ActorKind | None, reader_orgnr_parent: str, event_filter: EventFilter
) -> EventQuery | None:
    """The reader's query; None when the reader may not search (only an organisation's auditors may)."""
    if reader_kind is ActorKind.AUDITOR and reader_orgnr_parent:
        return EventQuery(reader_orgnr_parent, event_filter)
    return None


def filter_violations(event_filter: EventFilter, *, allow_synthetic: bool) -> dict[str, str]:
    """Field violations keyed by proto path ("filter.patient_id"); empty when the filter is valid."""
    problems: dict[str, str] = {}
    for name in ("patient_id", "actor_pid"):
        if value := getattr(event_filter, name):
            problems |= person_number_violations(value, f"filter.{name}", allow_synthetic=allow_synthetic)
    for name, validate in (("actor_hpr_number", validate_hpr_number), ("actor_orgnr_child", validate_org_number)):
        if value := getattr(event_filter, name):
            try:
                validate(value)
            except InvalidIdentifier as exc:
                problems[f"filter.{name}"] = str(exc)
    start, end = event_filter.start, event_filter.end
    if start is not None and end is not None and start >= end:
        problems["filter.end_time"] = "after start_time"
    return problems


def export_limit(requested: int, maximum: int = MAX_EXPORT_LIMIT) -> tuple[int, dict[str, str]]:
    """(how many events to export, field violations) of an export request; 0 asks for the default."""
    default = min(DEFAULT_EXPORT_LIMIT, maximum)
    if requested == 0:
        return default, {}
    if not 1 <= requested <= maximum:
        return default, {"limit": f"1-{maximum} for this format, or 0 for {default}"}
    return requested, {}
